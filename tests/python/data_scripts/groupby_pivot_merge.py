"""groupby with several aggregations, a pivot table, a merge with a second
CSV and a ranking: the core of most sales reports."""
import sys

import pandas as pd

DATA = sys.argv[1]
df = pd.read_csv(f"{DATA}/sales.csv", parse_dates=["date"])
regions = pd.read_csv(f"{DATA}/regions.csv")
df["discount"] = df["discount"].fillna(0.0)
df["revenue"] = df["units"] * df["unit_price"] * (1 - df["discount"])

by_region = df.groupby("region").agg(
    orders=("order_id", "count"), units=("units", "sum"),
    revenue=("revenue", "sum"), mean_price=("unit_price", "mean"))
print(by_region)
print(df.groupby(["region", "product"])["revenue"].sum().unstack().round(2))

df["quarter"] = "Q" + df["date"].dt.quarter.astype(str)
pivot = pd.pivot_table(df, values="revenue", index="product",
                       columns="quarter", aggfunc="sum",
                       margins=True, fill_value=0)
print(pivot.round(1))

merged = by_region.reset_index().merge(regions, on="region", how="left")
merged["vs_target"] = (merged["revenue"] / merged["target"]).round(3)
print(merged.sort_values("vs_target", ascending=False).to_string(index=False))

df["rank_in_region"] = df.groupby("region")["revenue"].rank(
    method="dense", ascending=False)
print(df.nsmallest(5, "rank_in_region")[["order_id", "region", "revenue"]])
print(df.groupby("product")["units"].describe())
print(pd.crosstab(df["region"], df["product"], normalize="index").round(3))
