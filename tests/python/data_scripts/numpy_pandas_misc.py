"""cut/qcut, apply, to_json/to_csv round trips, MultiIndex, melt,
rolling statistics on a seeded random walk."""
import io

import numpy as np
import pandas as pd

rng = np.random.default_rng(7)
walk = pd.Series(rng.standard_normal(200).cumsum(), name="walk")
print(pd.cut(walk, bins=5).value_counts().sort_index())
print(pd.qcut(walk, q=4, labels=["q1", "q2", "q3", "q4"]).value_counts())
print(walk.rolling(20).agg(["mean", "std"]).iloc[[19, 100, 199]])
frame = pd.DataFrame(rng.integers(0, 10, (6, 3)), columns=list("abc"))
frame["d"] = frame.apply(lambda r: r["a"] * 10 + r["b"], axis=1)
print(frame.to_json(orient="records"))
buf = io.StringIO()
frame.to_csv(buf, index=False)
print(buf.getvalue())
print(pd.read_csv(io.StringIO(buf.getvalue())).equals(frame))
long = frame.melt(id_vars="a", value_vars=["b", "c"])
print(long.head())
mi = frame.set_index(["a", "b"]).sort_index()
print(mi.index.nlevels, mi.xs(mi.index[0][0], level="a"))
print(pd.Series([0.1, 0.2, 0.3]).sum() == 0.6, np.float64(0.1) + np.float64(0.2))
print(pd.DataFrame({"x": [1.5, np.nan, 3.25]}).fillna(-1).astype("int64")["x"].tolist())
