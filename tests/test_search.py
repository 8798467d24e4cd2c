"""The DWP search on the glass: verified saddles, counts, reproducibility, dismissals, cancel."""

import numpy as np
import pandas as pd
import pytest

import tlsviz
from tlsviz.engine.saddle import descent_path, mass_weighted_unstable_mode, ridge_saddle
from tlsviz.engine.surfaces import SystemSurface
from tlsviz.search import (AMBIGUOUS_RATIO, DWP_COLUMNS, PATH_F_RISEN, PATH_F_STOP, SearchParams,
                           central_particles, certify_minimum, participation_ratios, run_try,
                           same_minimum, verify_pair)

TRIES = 150
PARAMS = dict(t_search=0.5, n_search=100)


@pytest.fixture(scope="module")
def system():
    return tlsviz.KobAndersen(n=65)


@pytest.fixture(scope="module")
def res4(system, certified):
    """Certified IS 4: one DWP, found by many tries."""
    return tlsviz.search_dwps(system, certified["is_positions"][4], tries=TRIES, seed=7, **PARAMS)


@pytest.fixture(scope="module")
def res8(system, certified):
    """Certified IS 8: one DWP and one pair joined only through a third minimum."""
    return tlsviz.search_dwps(system, certified["is_positions"][8], tries=TRIES, seed=7, is_id=8, **PARAMS)


def test_result_tables(res4, res8):
    for res in (res4, res8):
        assert list(res.dwps.columns) == DWP_COLUMNS
        assert "reason" in res.dismissed.columns
        st = res.stats
        assert st["tries"] == TRIES
        assert st["converged"] == st["back_to_is"] + st["outside_windows"] + st["accepted"]
        assert st["distinct"] == len(res.dwps) + (res.dismissed.reason != "quench did not converge").sum()
    assert len(res4.dwps) >= 1 and len(res8.dwps) >= 1
    assert res8.dwps.is_id.eq(8).all()
    row = res4.dwps.iloc[0]
    assert row.central_type in ("A", "B") and row.tries == TRIES
    assert row.asymmetry < 0.5 and row.d_mwrp < 0.8 and row.d_mwrp >= row.d_mw
    assert row.barrier == pytest.approx(row.saddle_energy - min(row.is_energy, row.min_energy))
    assert row.barrier_from_is == pytest.approx(row.saddle_energy - row.is_energy)


def test_every_dwp_saddle_has_one_negative_mode_and_joins_its_two_minima(system, res4, res8):
    """Independent of the search's own check: plain CG quenches from saddle ± 0.02 · mode."""
    for res in (res4, res8):
        for i, row in res.dwps.iterrows():
            xs = res.saddle(i)
            m = system.modes(xs)
            assert m.n_negative == 1 and m.lowest == pytest.approx(row.lambda_neg)
            assert system.energy(xs) == pytest.approx(row.saddle_energy, abs=1e-10)
            step = 0.02 * m.unstable_mode / np.max(np.linalg.norm(m.unstable_mode, axis=1))
            ends = sorted(system.quench(xs + s * step).energy for s in (-1, 1))
            assert ends == pytest.approx(sorted([row.is_energy, row.min_energy]), abs=1e-8)


def test_descriptors_against_direct_computation(system, res4):
    row = res4.dwps.iloc[0]
    x1, x2, xs = res4.is_positions, res4.minimum(0), res4.saddle(0)
    assert row.d == pytest.approx(system.distance(x1, x2))
    assert row.d_mw == pytest.approx(system.distance(x1, x2, mass_weighted=True))
    assert row.d_rp == pytest.approx(system.distance(x1, xs) + system.distance(xs, x2))
    disp = res4.displacements(0)
    amp = np.linalg.norm(disp, axis=1)
    assert row.central_index == np.argmax(amp)
    assert row.central_type == "AB"[system.types[np.argmax(amp)]]
    np.testing.assert_allclose([row.pr1, row.pr2, row.pr3, row.pr4], participation_ratios(disp))


def test_central_particle_ambiguity_on_a_hand_made_displacement_set():
    types = np.r_[np.zeros(52, int), np.ones(13, int)]
    disp = np.zeros((65, 3))
    disp[10] = [0.0, 0.30, 0.0]    # A, moves most
    disp[60] = [0.28, 0.0, 0.0]    # B, 93 % of it: the A/B label is not a result
    disp[3] = [0.0, 0.0, -0.1]
    c = central_particles(disp, types)
    assert (c["central_index"], c["central_type"], c["second_index"], c["second_type"]) == (10, "A", 60, "B")
    assert c["second_ratio"] == pytest.approx(0.28 / 0.30) and c["second_ratio"] > AMBIGUOUS_RATIO
    assert c["central_displacement"] == pytest.approx(0.30)
    disp[60] = [0.15, 0.0, 0.0]    # now clearly second
    c = central_particles(disp, types)
    assert c["second_ratio"] == pytest.approx(0.5) and c["second_index"] == 60
    disp[60] = [0.0, 0.0, 0.30]    # an exact tie: the lower index is central, ratio 1
    c = central_particles(disp, types)
    assert (c["central_index"], c["second_index"], c["second_ratio"]) == (10, 60, 1.0)
    with pytest.raises(ValueError, match="non-zero"):
        central_particles(np.zeros((65, 3)), types)


def test_dwp_rows_carry_the_second_particle(system, res4, res8):
    for res in (res4, res8):
        for i, row in res.dwps.iterrows():
            amp = np.sort(np.linalg.norm(res.displacements(i), axis=1))[::-1]
            assert row.second_ratio == pytest.approx(amp[1] / amp[0])
            assert row.second_index != row.central_index
            assert row.second_type == "AB"[system.types[row.second_index]]


def test_the_is_is_certified_and_a_saddle_given_as_an_is_is_refused(system, certified, res4):
    st = res4.stats
    assert st["is_certified"] is True and st["is_negative_modes"] == 0
    assert st["is_lowest_eigenvalue"] == pytest.approx(system.modes(certified["is_positions"][4]).lowest)
    assert st["is_lowest_eigenvalue"] > 0
    xs = certified["saddle_positions"][4]  # forces vanish (max |F| < 1e-8): only the Hessian tells
    cert = certify_minimum(system, xs)
    assert cert["is_certified"] is False and cert["is_negative_modes"] == 1
    assert cert["is_lowest_eigenvalue"] == pytest.approx(certified["lambda_neg"][4], rel=1e-6)
    with pytest.raises(ValueError, match="1 negative mode.*saddle"):
        tlsviz.search_dwps(system, xs, tries=1, seed=0)


def test_participation_ratios_count_the_movers():
    disp = np.zeros((20, 3))
    disp[:4] = [[0.3, 0, 0], [0, 0.3, 0], [0, 0, -0.3], [0.3, 0, 0]]
    q = participation_ratios(disp)
    np.testing.assert_allclose(q, [1 / 4, 4, 4, 4])


def test_path_runs_minimum_saddle_minimum(system, res4):
    path = res4.path(0)
    n = res4.params.n_frames
    assert path.shape == (n, 65, 3)
    assert np.array_equal(path[n // 2], res4.saddle(0))
    assert system.distance(path[0], res4.is_positions) < 1e-6
    assert system.distance(path[-1], res4.minimum(0)) < 1e-6
    e = res4.path_energies[0]
    assert np.argmax(e) == n // 2
    assert np.all(np.diff(e[: n // 2 + 1]) > -1e-9) and np.all(np.diff(e[n // 2:]) < 1e-9)
    # no particle jumps between frames (the path is unwrapped), and it is not a straight line
    step = np.linalg.norm(np.diff(path, axis=0), axis=2)
    assert step.max() < 0.2
    straight = res4.is_positions + np.linspace(0, 1, n)[:, None, None] * (res4.minimum(0) - res4.is_positions)
    assert np.max(np.linalg.norm(path - straight, axis=2)) > 1e-3
    s = res4.path_arclengths[0]
    assert np.all(np.diff(s) > 0)


def test_a_minimum_found_by_several_tries_is_one_record_with_its_count(system, certified, res4):
    row = res4.dwps.iloc[0]
    assert row["count"] >= 2
    x_is = certified["is_positions"][4]
    params = SearchParams(**PARAMS)
    hits = 0
    for k in range(TRIES):
        t = run_try(system, x_is, k, seed=7, params=params)
        if abs(t.energy - row.min_energy) < 1e-7 and system.distance(t.positions, res4.minimum(0)) < 1e-4:
            hits += 1
    assert hits == row["count"]
    assert len(res4.dwps) == len(res4.dwps.drop_duplicates(subset=["min_energy"]))


def test_same_seed_same_catalogue(system, certified, res4):
    again = tlsviz.search_dwps(system, certified["is_positions"][4], tries=TRIES, seed=7, **PARAMS)
    pd.testing.assert_frame_equal(again.dwps, res4.dwps)
    pd.testing.assert_frame_equal(again.dismissed, res4.dismissed)
    other = tlsviz.search_dwps(system, certified["is_positions"][4], tries=40, seed=8, **PARAMS)
    assert other.stats["back_to_is"] != res4.stats["back_to_is"] or other.stats["tries"] != TRIES


def test_pair_through_a_third_minimum_is_dismissed_with_that_reason(system, res8):
    third = res8.dismissed.index[res8.dismissed.reason.str.startswith("connects a third minimum (E = ")]
    assert len(third) >= 1
    j = third[0]
    x_is, x_m = res8.is_positions, res8.dismissed_positions[j]
    e_is, e_m = res8.is_energy, res8.dismissed.min_energy[j]
    # check it ourselves: the ridge saddle of this pair drains to a minimum that is neither end
    surface = SystemSurface(system)
    d = x_m - x_is
    x2 = x_is + d - system.box * np.rint(d / system.box)
    sad = ridge_saddle(surface, x_is.ravel(), x2.ravel())
    xs = sad.positions.reshape(65, 3)
    mode = mass_weighted_unstable_mode(surface, xs)
    ends = [system.quench(descent_path(surface, xs.ravel(), s * mode)[0][-1].reshape(65, 3)) for s in (-1, 1)]
    known = [(x_is, e_is), (x2, e_m)]
    assert any(not any(same_minimum(system, x, e, q.positions, q.energy) for x, e in known) for q in ends)


def test_a_pair_whose_ridge_walk_fails_is_dismissed_as_joined_through_a_third_minimum(system):
    """tests/data/third-minimum-pair.npz: the ridge walk between these two glass minima underflows
    (once reported as "no saddle found"); its last ridge point drains into a third minimum 0.29 ε
    below the IS, which the reason now names. Checked here with plain CG quenches from both sides."""
    from conftest import DATA

    pair = np.load(DATA / "third-minimum-pair.npz")
    x_is, x_m = pair["is_positions"], pair["min_positions"]
    e_is, e_m = float(pair["E_IS"]), float(pair["E_min"])
    surface = SystemSurface(system)
    d = x_m - x_is
    x2 = x_is + d - system.box * np.rint(d / system.box)
    sad = ridge_saddle(surface, x_is.ravel(), x2.ravel())
    assert not sad.converged and "underflow" in sad.message
    verdict = verify_pair(system, x_is, e_is, x_m, e_m, SearchParams())
    reason = verdict.reason
    assert not verdict.ok and verdict.record is None and reason.startswith("connects a third minimum (E = ")
    e_third = float(reason.split("E = ")[1].split(" ")[0])
    assert e_third == pytest.approx(e_is - 0.2904, abs=1e-3) and "below the IS" in reason
    ends = [system.quench((sad.positions + s * 0.01 * sad.mode).reshape(65, 3), method="cg")
            for s in (-1, 1)]
    third = [q for q in ends if not any(same_minimum(system, x, e, q.positions, q.energy)
                                        for x, e in ((x_is, e_is), (x2, e_m)))]
    assert third and third[0].energy == pytest.approx(e_third, abs=1e-6)


def test_cancel_returns_what_was_done(system, certified):
    res = tlsviz.search_dwps(system, certified["is_positions"][4], tries=TRIES, seed=7,
                             callback=lambda p: p.tries_done >= 10, **PARAMS)
    assert res.cancelled and res.stats["tries"] == 10 and len(res.dwps) == 0


def test_progress_events(system, certified):
    events = []
    res = tlsviz.search_dwps(system, certified["is_positions"][4], tries=30, seed=7,
                             callback=events.append, **PARAMS)
    assert not res.cancelled
    assert [e.tries_done for e in events if e.stage == "tries"] == list(range(1, 31))
    pairs = [e.pairs_done for e in events if e.stage == "saddles"]
    assert pairs == list(range(0, len(pairs))) and pairs[-1] == events[-1].pairs_total  # 0 when the stage begins
    assert events[-1].stage == "done" and events[-1].result is not None


def test_bad_input(system, certified):
    x = certified["is_positions"][4]
    with pytest.raises(ValueError, match="not a minimum"):
        tlsviz.search_dwps(system, system.random_positions(seed=1), tries=5)
    with pytest.raises(ValueError, match="tries"):
        tlsviz.search_dwps(system, x, tries=0)
    with pytest.raises(ValueError, match="seed"):
        tlsviz.search_dwps(system, x, tries=5, seed=-1)
    with pytest.raises(ValueError, match="unknown search parameter"):
        tlsviz.search_dwps(system, x, tries=5, t_serach=0.5)
    with pytest.raises(ValueError, match="t_search"):
        tlsviz.search_dwps(system, x, tries=5, t_search=-0.1)
    with pytest.raises(ValueError, match="n_frames"):
        tlsviz.search_dwps(system, x, tries=5, n_frames=40)
    with pytest.raises(ValueError, match="shape"):
        tlsviz.search_dwps(system, x[:60], tries=5)


def test_minima_differing_by_a_swap_of_identical_particles_are_the_same(system, certified):
    x = certified["is_positions"][4]
    e = system.energy(x)
    swapped = x.copy()
    swapped[[3, 17]] = swapped[[17, 3]]          # two A particles
    swapped[[60, 62]] = swapped[[62, 60]]        # two B particles
    swapped += [0.01, -0.02, 0.005]              # and a global shift
    assert system.distance(x, swapped) > 0.5     # far apart as labelled configurations
    assert system.energy(swapped) == pytest.approx(e, abs=1e-10)
    assert same_minimum(system, x, e, swapped, system.energy(swapped))
    # an A swapped with a B is a different configuration (different energy)
    ab = x.copy()
    ab[[3, 60]] = ab[[60, 3]]
    assert not same_minimum(system, x, e, ab, system.energy(ab))
    # a real neighbour minimum is not the same
    y = certified["min_positions"][4]
    assert not same_minimum(system, x, e, y, system.energy(y))


def test_result_does_not_depend_on_blas_threads(system, certified):
    """Multi-threaded LAPACK rounds eigenvectors differently; the search pins BLAS to one thread."""
    from threadpoolctl import threadpool_limits

    x = certified["is_positions"][4]
    with threadpool_limits(limits=1, user_api="blas"):
        one = tlsviz.search_dwps(system, x, tries=40, seed=7, **PARAMS)
    with threadpool_limits(limits=2, user_api="blas"):
        two = tlsviz.search_dwps(system, x, tries=40, seed=7, **PARAMS)
    assert len(one.dwps) == 1
    pd.testing.assert_frame_equal(one.dwps, two.dwps, check_exact=True)
    assert np.array_equal(one.path(0), two.path(0))


@pytest.mark.parametrize("i", [0, 5, 9])
def test_descent_paths_from_certified_saddles_go_all_the_way_down(system, certified, i):
    """Both sides of the steepest-descent path keep going down to (near) their minimum."""
    surface = SystemSurface(system)
    xs = certified["saddle_positions"][i]
    mode = mass_weighted_unstable_mode(surface, xs)
    ends = []
    for sign in (-1, 1):
        pts, es = descent_path(surface, xs.ravel(), sign * mode)
        assert len(pts) > 20 and np.all(np.diff(es) < 0)
        f = system.energy_forces(pts[-1].reshape(65, 3))[1]
        assert np.max(np.linalg.norm(f, axis=1)) < 1e-3          # stopped near a minimum
        ends.append(system.quench(pts[-1].reshape(65, 3)).energy)
    want = sorted([float(certified["E_IS"][i]), float(certified["E_min"][i])])
    assert sorted(ends) == pytest.approx(want, abs=1e-8)


@pytest.mark.parametrize("i", [0, 6, 12])
def test_descent_handed_over_to_the_quench_once_down_the_slope(system, certified, i):
    """With f_risen the force criterion waits until the path has come down the slope: the
    first steps off the saddle zig-zag with a max|F| that can be below f_stop (without f_risen
    the path can stop there, far from any minimum); with it, the path (the search's handover
    values) ends where the quench has < 2 % of the way left, in the same minimum as the full
    descent, with fewer steps."""
    surface = SystemSurface(system)
    xs = certified["saddle_positions"][i]
    mode = mass_weighted_unstable_mode(surface, xs)
    sq = np.sqrt(np.repeat(system.masses, 3))
    for sign in (-1, 1):
        full, e_full = descent_path(surface, xs.ravel(), sign * mode)
        n0 = surface.n_evals
        short, e_short = descent_path(surface, xs.ravel(), sign * mode, f_stop=PATH_F_STOP,
                                      f_risen=PATH_F_RISEN)
        n_short = surface.n_evals - n0
        early, _ = descent_path(surface, xs.ravel(), sign * mode, f_stop=0.03)
        f = system.energy_forces(short[-1].reshape(65, 3))[1]
        assert np.max(np.linalg.norm(f, axis=1)) < PATH_F_STOP and np.all(np.diff(e_short) < 0)
        np.testing.assert_array_equal(short, full[:len(short)])        # the same steps, cut short
        length = np.sum(np.linalg.norm(np.diff(full * sq, axis=0), axis=1))
        left = np.linalg.norm((full[-1] - short[-1]) * sq)
        assert left < 0.02 * length and len(short) < 0.9 * len(full) and n_short > 0
        q_short = system.quench(short[-1].reshape(65, 3))
        q_full = system.quench(full[-1].reshape(65, 3))
        assert system.distance(q_short.positions, q_full.positions) < 1e-6
        if i == 12:  # why f_risen is needed: here both sides start with max|F| < 0.03
            assert len(early) < 0.02 * len(full)
            assert e_full[0] - e_full[len(early) - 1] < 0.01 * (e_full[0] - e_full[-1])


def test_compiled_descent_path_is_the_python_loop(system, certified):
    """The glass's compiled descent (SystemSurface.descent) integrates the steps of the generic
    Python loop of descent_path: the same points until round-off (different summation order of
    the norms) flips one accept/halve decision of the step control, and the same end."""

    class PythonLoop:  # the same surface without its compiled `descent`
        def __init__(self, surface):
            self.surface = surface
            self.masses = surface.masses

        def energy_forces(self, x):
            return self.surface.energy_forces(x)

        def max_displacement(self, dx):
            return self.surface.max_displacement(dx)

    surface = SystemSurface(system)
    xs = certified["saddle_positions"][2]
    mode = mass_weighted_unstable_mode(surface, xs)
    for sign in (-1, 1):
        fast, e_fast = descent_path(surface, xs.ravel(), sign * mode, f_stop=1e-3)
        slow, e_slow = descent_path(PythonLoop(surface), xs.ravel(), sign * mode, f_stop=1e-3)
        assert len(fast) > 50 and abs(len(fast) - len(slow)) < 0.05 * len(slow)
        np.testing.assert_allclose(fast[:50], slow[:50], atol=1e-9)
        np.testing.assert_allclose(e_fast[:50], e_slow[:50], rtol=1e-13)
        assert system.distance(fast[-1].reshape(65, 3), slow[-1].reshape(65, 3)) < 1e-2
        q1, q2 = (system.quench(p[-1].reshape(65, 3)) for p in (fast, slow))
        assert q1.energy == pytest.approx(q2.energy, abs=1e-9)


def test_best_search_parameters_one_standard_error_rule():
    """The fewest MD steps within one standard error of the largest yield, then the largest yield."""
    import pandas as pd

    from tlsviz.search import best_search_parameters

    table = pd.DataFrame(dict(
        t_search=[0.5, 0.5, 1.0, 1.0], n_search=[50, 100, 50, 100],
        distinct_per_is=[1.2, 1.7, 1.5, 1.6], distinct_per_is_err=[0.1, 0.2, 0.15, 0.2]))
    best = best_search_parameters(table)
    assert (best.t_search, best.n_search) == (1.0, 50)  # 1.7 - 1.5 < hypot(0.2, 0.15); 1.2 is not
    table.loc[2, "distinct_per_is"] = 1.4
    best = best_search_parameters(table)
    assert (best.t_search, best.n_search) == (0.5, 100)  # no 50-step point within 1 SE: the best of 100
    # paired IS by IS: 50 steps find one minimum fewer on every IS, a real difference, however
    # large the spread between IS
    table = pd.DataFrame(dict(t_search=[0.5, 0.5], n_search=[50, 100], distinct_per_is=[2.0, 3.0],
                              distinct_per_is_err=[1.0, 1.0], distinct_by_is=[(0, 2, 4), (1, 3, 5)]))
    assert best_search_parameters(table).n_search == 100
    table.at[0, "distinct_by_is"] = (2, 0, 4)  # the same mean with the difference not systematic
    table.at[1, "distinct_by_is"] = (1, 3, 5)
    table.loc[0, "distinct_per_is"] = 2.0
    assert best_search_parameters(table).n_search == 50


def test_try_velocities_come_from_each_try_own_seed_sequence(system):
    """Try k of IS i in a search seeded s draws its Maxwell velocities from
    default_rng(SeedSequence([s, i, k])): whatever runs the tries, in whatever order or batch."""
    from tlsviz.search import try_velocities

    params = SearchParams()
    v = try_velocities(system, [3, 11], seed=7, is_id=2, params=params)
    for row, k in zip(v, (3, 11)):
        g = np.random.default_rng(np.random.SeedSequence([7, 2, k])).standard_normal((system.n_particles, 3))
        want = system._zero_momentum(g * np.sqrt(params.t_search / system.masses)[:, None])
        np.testing.assert_array_equal(row, want)
    np.testing.assert_array_equal(try_velocities(system, [11], seed=7, is_id=2, params=params)[0], v[1])


@pytest.mark.parametrize("seed, is_id", [(0, 0), (7, 2), (2**32 - 1, 2**32), (12345678901234567890123, 5)])
def test_compiled_try_streams_are_numpy_seed_sequence_streams(seed, is_id):
    """pcg64_streams seeds PCG64 by SeedSequence's algorithm in compiled code: the same streams
    as numpy's own SeedSequence([seed, is_id, k]), for entropy of three to six 32-bit words."""
    from tlsviz.engine.streams import pcg64_streams

    ks = [0, 1, 399, 2**32 - 1, 2**32 + 7, 2**62]
    for k, rng in zip(ks, pcg64_streams(seed, is_id, ks)):
        want = np.random.default_rng(np.random.SeedSequence([seed, is_id, k]))
        np.testing.assert_array_equal(rng.standard_normal(9), want.standard_normal(9))
        assert rng.integers(2**63) == want.integers(2**63)
    with pytest.raises(ValueError, match="non-negative"):
        pcg64_streams(-1, 0, [0])
    with pytest.raises(ValueError, match="non-negative"):
        pcg64_streams(7, 0, [-3])
