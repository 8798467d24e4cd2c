"""Parameters of the Kob–Andersen shifted-force Lennard-Jones model.

Every kernel receives the model as plain arrays (never as globals or
closures, so that numba's on-disk cache stays valid): the 2×2 tables of the
coefficients c12 = 4εσ¹², c6 = 4εσ⁶ and the shift constants a, b of
V(r) = c12 / r¹² − c6 / r⁶ + a + b·r = 4ε[(σ/r)^12 − (σ/r)^6] + a + b·r, and the squared
cut-off (LAMMPS's pair styles precompute the same coefficients, lj3 and lj4).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Kob–Andersen σ_αβ and ε_αβ, index 0 = A, 1 = B.
KA_SIGMA = np.array([[1.0, 0.8], [0.8, 0.88]])
KA_EPSILON = np.array([[1.0, 1.5], [1.5, 0.5]])
#: Masses of A and B in units of m_A (this model uses m_B = 0.5).
KA_MASSES = np.array([1.0, 0.5])
#: Cut-off radius, the same absolute value for every pair type.
KA_CUTOFF = 1.8


def lj_shift_constants(sigma: np.ndarray, epsilon: np.ndarray, rc: float):
    """The shift constants of the shifted-force LJ potential V(r) = LJ(r) + a + b·r.

    Parameters
    ----------
    sigma, epsilon : (2, 2) ndarray
        σ and ε of each pair type (σ_AA, ε_AA units).
    rc : float
        Cut-off radius (σ).

    Returns
    -------
    a, b : (2, 2) ndarray
        Such that V(rc) = 0 and V'(rc) = 0 for every pair type.
    """
    sr6 = (sigma / rc) ** 6
    lj_rc = 4.0 * epsilon * (sr6 * sr6 - sr6)
    dlj_rc = 4.0 * epsilon * (-12.0 * sr6 * sr6 + 6.0 * sr6) / rc
    b = -dlj_rc
    a = -lj_rc - b * rc
    return a, b


@dataclass(frozen=True)
class LJParams:
    """Shifted-force LJ parameters: σ, ε tables (2, 2), cut-off, shifts (2, 2)."""

    sigma: np.ndarray = field(default_factory=lambda: KA_SIGMA.copy())
    epsilon: np.ndarray = field(default_factory=lambda: KA_EPSILON.copy())
    rc: float = KA_CUTOFF

    @property
    def shifts(self):
        """(a, b) of V(r) = LJ(r) + a + b·r, each (2, 2)."""
        return lj_shift_constants(self.sigma, self.epsilon, self.rc)

    def packed(self):
        """The tuple (4εσ¹², 4εσ⁶, a, b, rc²) that every kernel takes."""
        a, b = self.shifts
        c6 = 4.0 * self.epsilon * self.sigma**6
        return (
            np.ascontiguousarray(c6 * self.sigma**6, dtype=np.float64),
            np.ascontiguousarray(c6, dtype=np.float64),
            np.ascontiguousarray(a, dtype=np.float64),
            np.ascontiguousarray(b, dtype=np.float64),
            float(self.rc) ** 2,
        )
