"""numpy statistics with a seeded Generator: distributions, percentiles,
correlation, histogram, least squares, printing."""
import numpy as np

rng = np.random.default_rng(20240601)
x = rng.normal(10.0, 2.5, size=5000)
y = 3.0 * x + rng.standard_normal(5000)
print(x[:5])
print(x.mean(), x.std(ddof=1), np.median(x))
print(np.percentile(x, [5, 25, 50, 75, 95]))
print(np.corrcoef(x, y))
counts, edges = np.histogram(x, bins=8)
print(counts, edges.round(3))
A = np.vstack([x, np.ones_like(x)]).T
coef, *_ = np.linalg.lstsq(A, y, rcond=None)
print(coef.round(6))
print(rng.integers(0, 100, size=(3, 4)))
print(rng.choice(["a", "b", "c"], size=6, p=[0.5, 0.3, 0.2]))
print(rng.permutation(10), rng.poisson(3.0, 8), rng.binomial(10, 0.3, 8))
np.set_printoptions(precision=3, suppress=True)
print(rng.exponential(2.0, size=(2, 3)))
m = rng.random((4, 4))
# Rounded: numpy's lapack_lite (guest) and OpenBLAS (native) differ in
# the last bits (docs/data-stack.md, "Compared with native").
print(round(np.linalg.det(m), 12), np.allclose(np.linalg.inv(m) @ m, np.eye(4)))
values, counts = np.unique(rng.integers(0, 5, 20), return_counts=True)
print(np.cumsum(np.arange(10)) % 7, values, counts)
print(np.float32(1) / 3, np.float64(2) ** 0.5, np.array([1e-10, 1e10]))
