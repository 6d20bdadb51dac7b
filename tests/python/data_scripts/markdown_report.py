"""A Markdown report: to_markdown (tabulate) with float formats, and
tabulate on its own."""
import sys

import pandas as pd
from tabulate import tabulate

DATA = sys.argv[1]
df = pd.read_csv(f"{DATA}/sales.csv")
df["revenue"] = df["units"] * df["unit_price"]
summary = df.groupby("product").agg(units=("units", "sum"),
                                    revenue=("revenue", "sum"),
                                    avg_price=("unit_price", "mean"))
print(summary.to_markdown(floatfmt=".2f"))
print()
print(summary.reset_index().to_markdown(index=False, tablefmt="github"))
print()
print(df.head(4).to_markdown(tablefmt="grid"))
print(tabulate([["pi", 3.14159], ["e", 2.71828]], headers=["name", "value"],
               floatfmt=".3f", tablefmt="pipe"))
