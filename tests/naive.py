"""Slow, obvious plain-numpy references for the engine (docs/method.md §1), used only by the tests."""

import numpy as np

SIGMA = np.array([[1.0, 0.8], [0.8, 0.88]])
EPSILON = np.array([[1.0, 1.5], [1.5, 0.5]])
RC = 1.8


def pair_energy(r, sigma, eps, rc=RC):
    """Shifted-force LJ V(r) written out from its definition, V(rc) = V'(rc) = 0."""
    lj = lambda s: 4 * eps * ((sigma / s) ** 12 - (sigma / s) ** 6)
    dlj = lambda s: 4 * eps * (-12 * sigma**12 / s**13 + 6 * sigma**6 / s**7)
    return np.where(r < rc, lj(r) - lj(rc) - (r - rc) * dlj(rc), 0.0)


def energy_forces(x, types, box, group=None, rc=RC):
    n = len(x)
    group = np.zeros(n, int) if group is None else group
    e = 0.0
    f = np.zeros_like(x)
    for i in range(n):
        for j in range(i + 1, n):
            if group[i] != group[j]:
                continue
            d = x[i] - x[j]
            d -= box * np.round(d / box)
            r = np.sqrt(d @ d)
            if r >= rc:
                continue
            s, eps = SIGMA[types[i], types[j]], EPSILON[types[i], types[j]]
            e += float(pair_energy(r, s, eps, rc))
            dv = 4 * eps * (-12 * s**12 / r**13 + 6 * s**6 / r**7) - 4 * eps * (
                -12 * s**12 / rc**13 + 6 * s**6 / rc**7
            )
            f[i] -= dv * d / r
            f[j] += dv * d / r
    return e, f


def hessian_fd(forces, x, h=1e-5):
    """Central finite differences of the forces: H = −∂F/∂x, (3N, 3N)."""
    n = x.size
    hess = np.empty((n, n))
    flat = x.ravel()
    for k in range(n):
        xp = flat.copy()
        xm = flat.copy()
        xp[k] += h
        xm[k] -= h
        hess[:, k] = -(forces(xp.reshape(x.shape)) - forces(xm.reshape(x.shape))).ravel() / (2 * h)
    return hess
