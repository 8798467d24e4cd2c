"""Molecular dynamics: energy conservation (NVE), the thermostat (NVT), Maxwell velocities."""

import numpy as np
import pytest

from tlsviz import KobAndersen
from tlsviz.engine import md


def total_energy(system, x, v):
    return system.energy(x) + md._kinetic(v, system.masses)


def test_nve_conserves_energy_over_1e4_steps(ka65, is65):
    """Velocity Verlet at dt = 0.01, T ≈ 0.5 (after equipartition), 10⁴ steps.

    Bound: fluctuations max |E(t) − E(0)| < 0.02 ε per particle (measured 0.003–0.013
    over seeds; they scale as dt², see test_nve_error_scales_as_dt_squared) and no drift: the mean over the last tenth differs from the mean over
    the first tenth by less than 2e-3 ε per particle.
    """
    n = ka65.n_particles
    x, v = is65.positions, ka65.maxwell_velocities(1.0, seed=11)
    energies, temps = [], []
    for _ in range(100):
        x, v = ka65.nve(x, v, steps=100)
        energies.append(total_energy(ka65, x, v))
        temps.append(ka65.kinetic_temperature(v))
    e = np.array(energies)
    assert np.max(np.abs(e - total_energy(ka65, is65.positions, ka65.maxwell_velocities(1.0, seed=11)))) / n < 0.02
    assert abs(e[-10:].mean() - e[:10].mean()) / n < 2e-3
    assert 0.3 < np.mean(temps) < 0.7
    # momentum stays zero
    assert np.max(np.abs((ka65.masses[:, None] * v).sum(axis=0))) < 1e-10


def test_nve_is_time_reversible(ka65, is65):
    x0, v0 = is65.positions, ka65.maxwell_velocities(0.5, seed=3)
    x1, v1 = ka65.nve(x0, v0, steps=500)
    x2, v2 = ka65.nve(x1, -v1, steps=500)
    np.testing.assert_allclose(x2, x0, atol=1e-7)
    np.testing.assert_allclose(-v2, v0, atol=1e-7)


def test_nve_does_not_modify_inputs(ka65, is65):
    x0, v0 = is65.positions.copy(), ka65.maxwell_velocities(0.5, seed=3)
    v_copy = v0.copy()
    ka65.nve(x0, v0, steps=10)
    assert np.array_equal(x0, is65.positions) and np.array_equal(v0, v_copy)


def test_maxwell_velocities(ka65):
    v = ka65.maxwell_velocities(0.5, seed=2)
    assert v.shape == (65, 3)
    assert np.max(np.abs((ka65.masses[:, None] * v).sum(axis=0))) < 1e-12
    assert np.array_equal(v, ka65.maxwell_velocities(0.5, seed=2))
    assert not np.array_equal(v, ka65.maxwell_velocities(0.5, seed=3))
    temps = [ka65.kinetic_temperature(ka65.maxwell_velocities(0.5, seed=s)) for s in range(200)]
    # mean of 200 draws of a χ²(192)/192 variable times 0.5: sd of the mean ≈ 0.0036
    assert np.mean(temps) == pytest.approx(0.5, abs=0.015)


def test_nvt_thermostat_reaches_and_holds_temperature(ka65, is65):
    x, v = is65.positions, ka65.maxwell_velocities(0.05, seed=1)
    x, v = ka65.nvt(x, v, steps=2000, temperature=0.6, seed=5)
    temps = []
    for k in range(60):
        x, v = ka65.nvt(x, v, steps=50, temperature=0.6, seed=100 + k)
        temps.append(ka65.kinetic_temperature(v))
    # canonical fluctuations of T for 192 dof: sd ≈ 0.6·√(2/192) ≈ 0.06 per sample
    assert np.mean(temps) == pytest.approx(0.6, abs=0.04)
    assert 0.02 < np.std(temps) < 0.12


def test_nvt_reproducible_from_seed(ka65, is65):
    v = ka65.maxwell_velocities(0.5, seed=1)
    a = ka65.nvt(is65.positions, v, steps=200, temperature=0.5, seed=9)
    b = ka65.nvt(is65.positions, v, steps=200, temperature=0.5, seed=9)
    c = ka65.nvt(is65.positions, v, steps=200, temperature=0.5, seed=10)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])


def test_nve_error_scales_as_dt_squared(ka65, is65):
    """Halving dt divides the energy fluctuation by about four: a consistent integrator."""
    spread = []
    for dt in (0.01, 0.005):
        x, v = is65.positions, ka65.maxwell_velocities(1.0, seed=0)
        e = []
        for _ in range(50):
            x, v = ka65.nve(x, v, steps=int(round(0.5 / dt)), dt=dt)
            e.append(total_energy(ka65, x, v))
        spread.append(np.std(e))
    assert 2.5 < spread[0] / spread[1] < 6.0


@pytest.mark.parametrize("thermostat", [False, True])
def test_small_copy_run_is_the_generic_run_bit_for_bit(ka65, is65, thermostat):
    """The N = 65 glass runs with its state in the small-box kernel's rows (md._small_run);
    the generic loop over (N, 3) arrays (md._vv_run) must give the very same trajectory."""
    steps = 300
    rng = np.random.default_rng(4)
    gauss, chi2 = (rng.standard_normal(steps), rng.chisquare(ka65.ndof - 1, steps)) if thermostat else (
        np.empty(0), np.empty(0))
    args = (0.01, steps, ka65.model, gauss, chi2, 0.6, 10.0, float(ka65.ndof))
    n_a = int(np.sum(ka65.types == 0))
    runs = []
    for small in (True, False):
        x, v = is65.positions.copy(), ka65.maxwell_velocities(0.5, seed=3)
        f = np.empty_like(x)
        if small:
            e = md._small_run(x, v, f, ka65.masses, args[0], steps, n_a, *args[2:])
        else:
            e = md._vv_run(x, v, f, ka65.masses, *args)
        runs.append((x, v, f, e))
    (xs, vs, fs, es), (xg, vg, fg, eg) = runs
    assert np.array_equal(xs, xg) and np.array_equal(vs, vg) and np.array_equal(fs, fg) and es == eg
    assert np.max(np.abs(xs - is65.positions)) > 0.05  # it did move
    assert es == ka65.energy(xs) and np.array_equal(fs, ka65.energy_forces(xs)[1])


def test_two_copy_run_moves_each_copy_as_one_copy(ka65, is65):
    """Two identical copies in one box (generic run) move as the single copy (small-box run)."""
    two = KobAndersen(n=65, copies=2)
    x, v = is65.positions, ka65.maxwell_velocities(0.5, seed=3)
    x1, v1 = ka65.nve(x, v, steps=200)
    x2, v2 = two.nve(np.vstack([x, x]), np.vstack([v, v]), steps=200)
    for half in (slice(0, 65), slice(65, 130)):
        assert np.array_equal(x2[half], x1) and np.array_equal(v2[half], v1)


def test_nve_conserves_energy_with_list_rebuilds_at_n2000(lammps_ref):
    """N = 2000 at T ≈ 0.5 with the Verlet list rebuilding (and, in the 2500-step run, the
    particles sorted by cell again after 2000 steps): the total energy stays within 1e-3 ε per
    particle of its start (it fluctuates by up to 4e-4 at dt = 0.01, as with the cell list)."""
    system = KobAndersen(n=2000, threads=1)
    x = lammps_ref["n2000_snapshot_positions"]
    v = system.maxwell_velocities(0.5, seed=6)
    e0 = total_energy(system, x, v)
    xs, vs = x, v
    for _ in range(5):
        xs, vs = system.nve(xs, vs, steps=100)
        assert abs(total_energy(system, xs, vs) - e0) / 2000 < 1e-3
    assert md.RESORT_STEPS < 2500
    xl, vl = system.nve(x, v, steps=2500)
    assert abs(total_energy(system, xl, vl) - e0) / 2000 < 1e-3
