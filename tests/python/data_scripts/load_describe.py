"""Load a CSV from a mounted folder and look at it: dtypes, head, describe,
info, missing values."""
import sys

import pandas as pd

DATA = sys.argv[1]
df = pd.read_csv(f"{DATA}/sales.csv", parse_dates=["date"])
print(df.shape)
print(df.dtypes)
print(df.head(8))
print(df.describe())
print(df.describe(include="all").T)
df.info(memory_usage=False)  # pointers are 4 bytes in the guest
print(df.isna().sum())
print(df["units"].quantile([0.1, 0.5, 0.9]))
