"""Reduced Lennard-Jones units → the Ni80P20 metallic glass (docs/method.md §1).

The Kob–Andersen mixture is mapped on Ni80P20 by ε_AA = 933.9 K · k_B, σ_AA = 2.2 Å,
A = ⁶²Ni and B = ³¹P (the model's m_B = 0.5 m_A = 30.96 u is ³¹P, 30.97 u, to 0.05 %).
Every conversion from reduced units to Kelvin or SI in tlsviz goes through
:class:`GlassUnits`; :data:`NI_P` holds the Ni80P20 values::

    from tlsviz.analysis.units import NI_P
    NI_P.kelvin(0.02)              # 18.678 K: an asymmetry of 0.02 ε
    NI_P.per_joule_per_m3(1e-3, 0.02)   # TLS per J per m³ from a count per particle below Δ₀

Constants: k_B and the atomic mass constant u from :mod:`scipy.constants` (CODATA);
the isotope masses from the Atomic Mass Evaluation 2020 (⁶²Ni 61.928 345 u, ³¹P 30.973 762 u).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import constants

#: Atomic mass of ⁶²Ni in u (AME2020).
NI62_U = 61.928345
#: Atomic mass of ³¹P in u (AME2020).
P31_U = 30.973762


@dataclass(frozen=True)
class GlassUnits:
    """The reduced units of the model expressed in a real glass.

    epsilon_k: ε_AA / k_B in K. sigma_angstrom: σ_AA in Å. mass_a_u: m_A in u.
    number_density: particles per σ_AA³ (1.2 for this model).
    """

    epsilon_k: float = 933.9
    sigma_angstrom: float = 2.2
    mass_a_u: float = NI62_U
    mass_b_u: float = P31_U
    number_density: float = 1.2

    # ------------------------------------------------------------ the units
    @property
    def epsilon_j(self) -> float:
        """ε_AA in J: ε = (ε/k_B) · k_B = 933.9 K × 1.380649e-23 J/K = 1.2894e-20 J."""
        return self.epsilon_k * constants.k

    @property
    def sigma_m(self) -> float:
        """σ_AA in m: 2.2 Å × 1e-10 m/Å = 2.2e-10 m."""
        return self.sigma_angstrom * constants.angstrom

    @property
    def mass_a_kg(self) -> float:
        """m_A in kg: m_A[u] × u (u = 1.66053906892e-27 kg)."""
        return self.mass_a_u * constants.atomic_mass

    @property
    def tau_s(self) -> float:
        """The time unit τ = σ_AA √(m_A / ε_AA) in s (6.2e-13 s for Ni80P20)."""
        return self.sigma_m * np.sqrt(self.mass_a_kg / self.epsilon_j)

    @property
    def volume_m3(self) -> float:
        """σ_AA³ in m³: (2.2e-10 m)³ = 1.0648e-29 m³."""
        return self.sigma_m ** 3

    @property
    def number_density_m3(self) -> float:
        """Particles per m³: ρ = number_density / σ_AA³ = 1.2 / 1.0648e-29 m³ = 1.127e29 m⁻³."""
        return self.number_density / self.volume_m3

    # ------------------------------------------------------------ conversions
    def kelvin(self, energy):
        """Energy (ε) → temperature-equivalent E / k_B in K: E[K] = E[ε] × 933.9."""
        return np.asarray(energy, dtype=float) * self.epsilon_k

    def joule(self, energy):
        """Energy (ε) → J: E[J] = E[ε] × ε_J."""
        return np.asarray(energy, dtype=float) * self.epsilon_j

    def angstrom(self, length):
        """Length (σ) → Å: x[Å] = x[σ] × 2.2."""
        return np.asarray(length, dtype=float) * self.sigma_angstrom

    def metre(self, length):
        """Length (σ) → m: x[m] = x[σ] × 2.2e-10."""
        return np.asarray(length, dtype=float) * self.sigma_m

    def second(self, time):
        """Time (τ) → s: t[s] = t[τ] × τ_s."""
        return np.asarray(time, dtype=float) * self.tau_s

    def per_m3(self, per_particle):
        """A number per particle → per m³: n_V = n_particle × ρ, ρ = number_density / σ³ in m⁻³."""
        return np.asarray(per_particle, dtype=float) * self.number_density_m3

    def per_joule_per_m3(self, per_particle, energy_window):
        """A count per particle within an energy window (ε) → a density per J per m³.

        P = n_particle × ρ / (ΔE × ε_J): the count of states with, e.g., asymmetry in
        [0, Δ₀) per particle, spread evenly over the window ΔE = Δ₀ (a flat distribution of
        Δ near 0, the standard tunnelling model's assumption), per unit volume.
        """
        window = np.asarray(energy_window, dtype=float)
        return self.per_m3(per_particle) / (window * self.epsilon_j)


#: The Ni80P20 mapping of §1.
NI_P = GlassUnits()
