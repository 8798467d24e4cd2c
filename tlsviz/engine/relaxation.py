"""Structural relaxation time from the self-intermediate scattering function.

F_s(q, t) = ⟨ cos(q · [r_i(t0 + t) − r_i(t0)]) ⟩ over the A particles, three axes
and time origins t0, at the first peak of the A–A structure factor
(q = 7.25 σ⁻¹ for this model at ρ = 1.2). τ_α is where F_s falls to 1/e. Used
to space the snapshots whose quenches are independent inherent structures
(docs/method.md §2).
"""

from __future__ import annotations

import numpy as np

#: First peak of S_AA(q) of the Kob–Andersen mixture at ρ = 1.2.
Q_PEAK = 7.25


def self_intermediate_scattering(frames: np.ndarray, q: float = Q_PEAK,
                                 max_lag: int | None = None) -> np.ndarray:
    """The self-intermediate scattering function F_s(q, lag), averaged over origins and axes.

    Parameters
    ----------
    frames : (T, N, 3) array_like
        Unwrapped positions (σ) at equal time intervals.
    q : float
        Wave number (σ⁻¹), by default the first peak of S_AA(q), :data:`Q_PEAK`.
    max_lag : int, optional
        Largest lag in frames (default T − 1).

    Returns
    -------
    (max_lag + 1,) ndarray
        F_s at lag = 0 … max_lag frames (1 at lag 0).

    Raises
    ------
    ValueError
        If frames is not a (T, N, 3) array.
    """
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 3 or frames.shape[2] != 3:
        raise ValueError(f"frames must be (T, N, 3) unwrapped positions, got {frames.shape}")
    n_t = frames.shape[0]
    max_lag = n_t - 1 if max_lag is None else min(max_lag, n_t - 1)
    fs = np.empty(max_lag + 1)
    for lag in range(max_lag + 1):
        dr = frames[lag:] - frames[: n_t - lag]
        fs[lag] = np.cos(q * dr).mean()
    return fs


def relaxation_time(system, temperature: float = 0.5, seed: int = 0, sample_every: float = 0.5,
                    duration: float = 2000.0, burn_in: float = 200.0, q: float = Q_PEAK):
    """Measure the α-relaxation time τ_α of ``system`` at ``temperature`` with an NVT run.

    Parameters
    ----------
    system : tlsviz.KobAndersen
        The system (its A particles are used).
    temperature : float
        Temperature (ε / k_B).
    seed : int
        Seed of the run (equilibration and thermostat streams).
    sample_every, duration, burn_in : float
        Frames are stored every ``sample_every`` τ for ``duration`` τ after ``burn_in`` τ of
        equilibration.
    q : float
        Wave number (σ⁻¹).

    Returns
    -------
    tau_alpha : float
        Where F_s crosses 1/e (τ), linearly interpolated; NaN if it does not within
        duration / 2.
    lags : ndarray
        The lags (τ).
    fs : ndarray
        F_s(q, lag) over the A particles.

    Notes
    -----
    The dynamics uses the Bussi thermostat, which perturbs it only globally and weakly.
    """
    x, v = system.equilibrate(seed, temperature, burn_in)
    steps = max(1, int(round(sample_every / 0.01)))
    n_frames = int(duration / sample_every) + 1
    frames = np.empty((n_frames, system.n_particles, 3))
    frames[0] = x
    for k in range(1, n_frames):
        x, v = system.nvt(x, v, steps, temperature,
                          seed=int(np.random.SeedSequence([seed, 50_000 + k]).generate_state(1)[0]))
        frames[k] = x
    a = system.types == 0
    fs = self_intermediate_scattering(frames[:, a], q, max_lag=n_frames // 2)
    lags = np.arange(len(fs)) * steps * 0.01
    below = np.flatnonzero(fs < np.exp(-1))
    if len(below) == 0:
        return float("nan"), lags, fs
    k = below[0]
    t0, t1, f0, f1 = lags[k - 1], lags[k], fs[k - 1], fs[k]
    tau = t0 + (np.exp(-1) - f0) * (t1 - t0) / (f1 - f0)
    return float(tau), lags, fs
