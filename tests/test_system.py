"""The system object: construction, random starts, inherent structures, bad input."""

import pickle

import numpy as np
import pytest

import tlsviz


def test_composition_box_and_masses():
    for n, n_b in ((65, 13), (130, 26), (195, 39), (260, 52)):
        s = tlsviz.KobAndersen(n=n)
        assert s.types.shape == (n,) and s.types.sum() == n_b
        assert np.all(s.types[: n - n_b] == 0)
        assert np.allclose(s.masses, np.where(s.types == 0, 1.0, 0.5))
        assert s.box == pytest.approx((n / 1.2) ** (1 / 3))
    assert tlsviz.KobAndersen(n=65).box == pytest.approx(3.78365, abs=1e-5)


def test_random_positions_are_reproducible_and_do_not_overlap(ka65):
    x = ka65.random_positions(seed=0)
    assert x.shape == (65, 3) and x.dtype == np.float64
    assert np.array_equal(x, ka65.random_positions(seed=0))
    assert not np.array_equal(x, ka65.random_positions(seed=1))
    d = x[:, None] - x[None]
    d -= ka65.box * np.rint(d / ka65.box)
    r = np.sqrt((d**2).sum(-1))[np.triu_indices(65, 1)]
    assert r.min() >= 0.75
    assert np.all((x >= 0) & (x < ka65.box))


def test_inherent_structures_are_certified_minima():
    s = tlsviz.KobAndersen(n=65)
    ims = s.inherent_structures(3, t_equil=0.5, seed=1, burn_in=50.0, spacing=200.0)
    assert len(ims) == 3 and isinstance(ims, tlsviz.InherentStructures)
    for q in ims:
        assert q.converged and q.grad_norm < 1e-10
        assert s.modes(q.positions).n_negative == 0
        # shifted-force IS energies at T_equil = 0.5: the LAMMPS reference IS has −4.49 per particle
        assert -4.8 < q.energy / 65 < -4.2
    again = s.inherent_structures(3, t_equil=0.5, seed=1, burn_in=50.0, spacing=200.0)
    assert all(np.array_equal(a.positions, b.positions) for a, b in zip(ims, again))
    assert len(ims.times) == 3 and ims.times[0] == 0.0 and np.all(np.diff(ims.times) >= 200.0 - 1e-9)
    assert len({round(q.energy, 8) for q in ims}) == 3


def test_inherent_structures_never_repeat_a_minimum():
    """A chain sampled every 2 τ (far below τ_α ≈ 200 τ) quenches to the same minimum again and
    again: the distinct result is the plain chain with every repeat removed (same bits), and
    lists the skipped snapshots. Cost: ~1 s."""
    from tlsviz.search import same_minimum

    s = tlsviz.KobAndersen(n=65)
    kw = dict(t_equil=0.5, seed=4, burn_in=20.0, spacing=2.0)
    plain = s.inherent_structures(40, distinct=False, **kw)
    assert plain.skipped == 0 and plain.times == pytest.approx([2.0 * i for i in range(40)])
    kept, dropped = [], []
    for t, q in zip(plain.times, plain):
        if any(same_minimum(s, p.positions, p.energy, q.positions, q.energy) for _, p in kept):
            dropped.append(t)
        else:
            kept.append((t, q))
    assert 3 <= len(kept) and len(dropped) >= 10  # the test means something: many repeats, some moves
    ims = s.inherent_structures(len(kept), **kw)
    assert len(ims) == len(kept) and not ims.stuck
    assert ims.times == [t for t, _ in kept]
    assert all(np.array_equal(a.positions, q.positions) and a.energy == q.energy for a, (_, q) in zip(ims, kept))
    assert ims.skipped_times == [t for t in dropped if t < kept[-1][0]] and ims.skipped == len(ims.skipped_times)
    back = pickle.loads(pickle.dumps(ims))  # results cross process boundaries whole
    assert back.times == ims.times and back.skipped_times == ims.skipped_times and len(back) == len(ims)
    for i in range(len(ims)):
        for j in range(i):
            assert not same_minimum(s, ims[j].positions, ims[j].energy, ims[i].positions, ims[i].energy)


def test_inherent_structures_stop_when_the_chain_is_stuck():
    """Far below the glass transition the chain stays in one basin: after max_skips repeats in
    a row the distinct IS found are returned, flagged and with a warning saying what to change."""
    s = tlsviz.KobAndersen(n=65)
    with pytest.warns(RuntimeWarning, match="stuck.*larger spacing or a higher t_equil"):
        ims = s.inherent_structures(4, t_equil=0.05, seed=1, burn_in=1.0, spacing=0.5, max_skips=3)
    assert ims.stuck and len(ims) == 1 and ims.skipped == 3
    with pytest.raises(ValueError, match="max_skips"):
        s.inherent_structures(2, max_skips=0)


def test_inherent_structures_callback_can_stop():
    s = tlsviz.KobAndersen(n=65)
    seen = []
    out = s.inherent_structures(5, seed=2, burn_in=5.0, spacing=5.0,
                                callback=lambda i, q: seen.append(i) or i == 1)
    assert seen == [0, 1] and len(out) == 2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": 40}, "not larger than 2 rc"),
        ({"n": 55}, "Use n >= 56"),
        ({"n": 65.5}, "integer"),
        ({"n": 65, "copies": 3}, "copies must be 1 or 2"),
        ({"n": 65, "density": -1.0}, "density"),
        ({"n": 65, "neighbor": "cells"}, "cell list needs"),
        ({"n": 65, "neighbor": "verlet"}, "Verlet list needs a box larger"),
        ({"n": 65, "neighbor": "kd-tree"}, "neighbor must be"),
    ],
)
def test_bad_construction_raises_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tlsviz.KobAndersen(**kwargs)


def test_bad_input_raises_clear_errors(ka65, is65):
    x = is65.positions
    with pytest.raises(ValueError, match=r"shape \(65, 3\)"):
        ka65.energy_forces(x[:64])
    with pytest.raises(ValueError, match=r"shape \(65, 3\)"):
        ka65.quench(x.ravel())
    bad = x.copy()
    bad[7, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ka65.energy_forces(bad)
    with pytest.raises(ValueError, match="NaN"):
        ka65.quench(bad)
    with pytest.raises(ValueError, match="temperature"):
        ka65.maxwell_velocities(-0.5, seed=1)
    with pytest.raises(ValueError, match="temperature"):
        ka65.nvt(x, np.zeros_like(x), 10, temperature=-1.0, seed=1)
    with pytest.raises(ValueError, match="steps"):
        ka65.nve(x, np.zeros_like(x), steps=-3)
    with pytest.raises(ValueError, match=r"velocities must have shape"):
        ka65.nve(x, np.zeros((65, 2)), steps=3)
    with pytest.raises(ValueError, match="seed"):
        ka65.maxwell_velocities(0.5, seed=None)
    with pytest.raises(ValueError, match="ftol"):
        ka65.quench(x, ftol=0.0)


def test_two_copies_quench_and_modes():
    two = tlsviz.KobAndersen(n=65, copies=2)
    x = two.random_positions(seed=4)
    q = two.quench(x)
    assert q.converged
    m = two.modes(q.positions)
    # six translations (three per copy) are removed; what remains is positive
    assert m.eigenvalues.shape == (3 * 130 - 6,) and m.n_negative == 0
    np.testing.assert_allclose(m.translation_eigenvalues, 0.0, atol=1e-9)
    one = tlsviz.KobAndersen(n=65)
    qa, qb = one.quench(q.positions[:65]), one.quench(q.positions[65:])
    assert q.energy == pytest.approx(qa.energy + qb.energy, abs=1e-9)
