"""A datetime index: resample, rolling windows, time zones, periods."""
import sys

import pandas as pd

DATA = sys.argv[1]
df = pd.read_csv(f"{DATA}/sales.csv", parse_dates=["date"])
s = df.set_index("date").sort_index()["units"]
print(s.resample("W").sum().head(10))
print(s.resample("MS").agg(["sum", "mean", "max"]))
print(s.resample("QE").sum())
daily = s.resample("D").sum()
print(daily.rolling(7).mean().dropna().head(5).round(3))
print(daily.ewm(span=5).mean().tail(3).round(4))

idx = pd.date_range("2024-03-30 22:00", periods=6, freq="h", tz="Europe/Paris")
print(idx)
print(idx.tz_convert("America/New_York"))
print(pd.Timestamp("2024-07-04 12:00", tz="UTC").tz_convert("Asia/Kolkata"))
print(pd.period_range("2024-01", periods=4, freq="M").to_timestamp())
print(df["date"].dt.day_name().value_counts().sort_index())
print((df["date"].max() - df["date"].min()), pd.Timedelta("1D3h").total_seconds())
print(pd.to_datetime(["2024-02-29", "2023-12-31 23:59:59.5"], format="mixed").strftime("%Y/%j %H:%M:%S.%f"))
