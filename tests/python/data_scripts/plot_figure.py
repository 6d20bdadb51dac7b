"""matplotlib figures saved as PNG and read back with Pillow: a report
figure (line, bars, text), whose pixel size is printed, and a figure
without text, whose file size and pixels are printed too (text is drawn
by a newer FreeType in the guest: docs/data-stack.md, "Compared with
native")."""
import hashlib
import os
import sys
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image

DATA = sys.argv[1]
df = pd.read_csv(f"{DATA}/sales.csv", parse_dates=["date"])
monthly = df.set_index("date")["units"].resample("MS").sum()
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3), dpi=80)
ax1.plot(monthly.index, monthly.values, marker="o")
ax1.set_title("units per month")
df.groupby("region")["units"].sum().plot.bar(ax=ax2, color="tab:orange")
ax2.set_ylabel("units")
fig.tight_layout()

rng = np.random.default_rng(3)
plain, ax = plt.subplots(figsize=(4, 3), dpi=60)
ax.scatter(*rng.random((2, 50)), c=rng.random(50), cmap="viridis")
ax.fill_between(np.linspace(0, 1, 30), 0.2, 0.4, alpha=0.3)
ax.set_axis_off()

with tempfile.TemporaryDirectory() as tmp:
    for name, f in (("report", fig), ("plain", plain)):
        path = os.path.join(tmp, f"{name}.png")
        f.savefig(path)
        with Image.open(path) as im:
            print(name, im.format, im.size, im.mode)
            if name == "plain":
                print(os.path.getsize(path),
                      hashlib.sha256(im.tobytes()).hexdigest())
plt.close("all")
