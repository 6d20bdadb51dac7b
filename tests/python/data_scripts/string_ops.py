"""Cleaning a text column: the .str accessor, regex extraction, dummies,
value counts, categoricals."""
import sys

import pandas as pd

DATA = sys.argv[1]
df = pd.read_csv(f"{DATA}/sales.csv")
c = df["customer"]
print(c.str.lower().str.replace(r"[^a-z ]", "", regex=True).str.strip().value_counts())
print(c.str.contains("corp", case=False).sum(), c.str.len().describe())
print(c.str.extract(r"^(\w+)\s*(\w*)").drop_duplicates().sort_values(0))
print(c.str.split(" ", n=1, expand=True).fillna("-").head(6))
print(df["product"].str.upper().str.slice(0, 3).value_counts())
print(pd.get_dummies(df["region"].head(6), prefix="r"))
cat = df["region"].astype(pd.CategoricalDtype(["north", "east", "south", "west"], ordered=True))
print(cat.value_counts(sort=False), cat.min(), cat.max())
print(df["product"].str.cat(df["region"], sep="/").head(4).tolist())
print(" | ".join(f"{w:>10s}" for w in sorted(df["product"].unique())))
print(c.str.title().str.pad(14, fillchar=".").head(3).tolist())
