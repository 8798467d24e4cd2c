"""The "2 × N" system: each copy's translation is a symmetry of the search (identity, distances,
participation ratios, mode counting, saddles), and a DWP lies in one copy."""

import numpy as np
import pytest

import tlsviz
from tlsviz.demo import demo_catalog
from tlsviz.engine import geometry
from tlsviz.engine.modes import translation_basis
from tlsviz.search import DWP_COLUMNS, hessian_preconditioner, same_minimum, verify_pair

#: Demo IS 7 has one DWP, found by ~36 % of its tries (count 146 of 400 in the demo catalogue);
#: demo IS 4 came back to itself on 398 of 400 tries.
IS_DWP, IS_QUIET = 7, 4
#: The rigid shift given to copy 1 (σ): a symmetry, so nothing may depend on it.
SHIFT = np.array([0.3, -0.2, 0.7])
DESCRIPTORS = ["asymmetry", "barrier", "barrier_from_is", "d", "d_mw", "d_rp", "d_mwrp", "central_displacement",
               "pr1", "pr2", "pr3", "pr4", "lambda_neg"]


@pytest.fixture(scope="module")
def one():
    return tlsviz.KobAndersen(n=65)


@pytest.fixture(scope="module")
def two():
    return tlsviz.KobAndersen(n=65, copies=2)


@pytest.fixture(scope="module")
def demo_is():
    cat = demo_catalog()
    return {i: cat.positions("is", i) for i in (IS_DWP, IS_QUIET)}


@pytest.fixture(scope="module")
def single(one, demo_is):
    """The N = 65 search of IS 7 alone (its DWP is found by try 1)."""
    res = tlsviz.search_dwps(one, demo_is[IS_DWP], tries=4, seed=2026, is_id=IS_DWP)
    assert len(res.dwps) == 1
    return res


@pytest.fixture(scope="module")
def doubled(two, demo_is):
    """2 × 65 made of IS 7 and its copy (shifted rigidly)."""
    x = demo_is[IS_DWP]
    return tlsviz.search_dwps(two, np.vstack([x, x + SHIFT]), tries=20, seed=1)


def test_distances_remove_each_copys_translation(one, two, demo_is):
    x = np.vstack([demo_is[IS_DWP], demo_is[IS_QUIET]])
    rng = np.random.default_rng(0)
    y = x + 0.01 * rng.standard_normal(x.shape)
    y_shifted = y.copy()
    y_shifted[65:] += SHIFT  # copy 1 alone moves rigidly
    for mw in (False, True):
        d = two.distance(x, y, mw)
        assert d > 0.05
        assert two.distance(x, y_shifted, mw) == pytest.approx(d, rel=1e-12)
        # the whole system's d² is the sum of the copies' own
        parts = [one.distance(x[s], y_shifted[s], mw) for s in (slice(0, 65), slice(65, 130))]
        assert np.hypot(*parts) == pytest.approx(d, rel=1e-12)
        disp = two.displacements(x, y_shifted, mw)
        w = two.masses if mw else np.ones(130)
        for c in (0, 1):  # each copy's (weighted) mean displacement is zero
            g = two.group == c
            assert np.abs((w[g, None] * disp[g]).sum(axis=0)).max() < 1e-12
    # with one copy, the geometry functions are the one-copy kernels, bit for bit
    a, b = demo_is[IS_DWP], demo_is[IS_DWP] + 0.01 * rng.standard_normal((65, 3))
    for masses in (None, one.masses):
        assert geometry.distance(a, b, one.box, masses, np.zeros(65, int)) == geometry.distance(a, b, one.box, masses)
        assert one.distance(a, b, masses is not None) == geometry.distance(a, b, one.box, masses)
    with pytest.raises(ValueError, match="group must give the copy"):
        geometry.distance(a, b, one.box, None, np.zeros(3, int))


def test_same_minimum_up_to_each_copys_translation_and_permutation(two, demo_is):
    x = np.vstack([demo_is[IS_DWP], demo_is[IS_QUIET]])
    e = two.energy(x)
    y = x.copy()
    y[65:] += 0.05  # copy 1 moves rigidly (a try's quench moves it by ~0.02 σ)
    y[[3, 7]] = y[[7, 3]]  # two A particles of copy 0 swap
    assert two.distance(x, y) > 1.0
    assert same_minimum(two, x, e, y, two.energy(y))
    z = x.copy()
    z[[3, 70]] = z[[70, 3]]  # an A particle of each copy swap: another configuration
    assert not same_minimum(two, x, e, z, two.energy(z))


def test_hessian_of_a_two_copy_minimum_has_six_zero_modes(one, two, demo_is, single):
    x = np.vstack([demo_is[IS_DWP], demo_is[IS_QUIET] + SHIFT])
    lam = np.linalg.eigvalsh(two.hessian(x))
    assert np.sum(np.abs(lam) < 1e-6) == 6 and lam.min() > -1e-6
    m = two.modes(x, vectors=False)
    assert m.translation_eigenvalues.shape == (6,) and np.abs(m.translation_eigenvalues).max() < 1e-8
    assert len(m.eigenvalues) == 3 * 130 - 6 == two.ndof
    assert m.n_negative == 0 and m.eigenvalues[0] > 1e-3
    # the tries' preconditioner is zero on each copy's translations, the inverse Hessian elsewhere
    p = hessian_preconditioner(two, x)
    t = translation_basis(two.group)
    assert np.abs(p @ t).max() < 1e-10
    v = two.modes(x).eigenvectors[:, 0]
    assert p @ v == pytest.approx(v / m.eigenvalues[0], rel=1e-6, abs=1e-6)
    # the N = 65 saddle of IS 7 embedded in copy 1 (copy 0 at an IS): exactly one unstable mode
    xs = np.vstack([demo_is[IS_QUIET], single.saddle(0) + SHIFT])
    ms = two.modes(xs, vectors=False)
    assert ms.n_negative == 1
    assert ms.eigenvalues[0] == pytest.approx(single.dwps.lambda_neg[0], rel=1e-8)


def test_two_copies_of_one_is_find_its_dwp_in_each_copy(one, two, single, doubled):
    st = doubled.stats
    assert st["back_to_is"] >= 5  # both copies back: ~0.6² of the tries
    assert list(doubled.dwps.columns) == DWP_COLUMNS and "copy" in DWP_COLUMNS
    assert sorted(doubled.dwps["copy"]) == [0, 1]
    want = single.dwps.iloc[0]
    for _, row in doubled.dwps.iterrows():
        c = int(row["copy"])
        for k in DESCRIPTORS:
            assert row[k] == pytest.approx(want[k], rel=1e-8, abs=1e-10), k
        assert row.central_index == want.central_index + 65 * c  # the whole system's index
        assert row.second_index == want.second_index + 65 * c and row.second_ratio == pytest.approx(want.second_ratio, rel=1e-8)
        assert row.is_energy == doubled.is_energy
        assert row.min_energy - row.is_energy == pytest.approx(want.min_energy - want.is_energy, abs=1e-9)
    for i in range(len(doubled.dwps)):
        c = int(doubled.dwps["copy"][i])
        other = slice(65, 130) if c == 0 else slice(0, 65)
        # the other copy stays at the IS in the second minimum, the saddle and the path
        for x in (doubled.minimum(i), doubled.saddle(i), *doubled.path(i)):
            np.testing.assert_array_equal(x[other], doubled.is_positions[other])
        disp = doubled.displacements(i)
        assert np.abs(disp[other]).max() == 0.0
        e = doubled.path_energies[i]
        assert e[len(e) // 2] == doubled.dwps.saddle_energy[i]
        # (the frames follow a descent path that starts from a slightly different quench: not to 1e-8)
        np.testing.assert_allclose(e - doubled.is_energy, single.path_energies[0] - single.is_energy, atol=1e-3)
    # no false minimum (a copy merely translated): every minimum kept differs in energy
    assert (doubled.dismissed.asymmetry > 1e-6).all()


def test_two_copy_search_of_different_is_returns_to_its_is(two, demo_is):
    x = np.vstack([demo_is[IS_QUIET], demo_is[IS_DWP] + SHIFT])
    res = tlsviz.search_dwps(two, x, tries=20, seed=3)
    st = res.stats
    assert st["back_to_is"] >= 0.4 * st["tries"]  # IS 4 comes back ~always, IS 7 on ~60 %
    assert len(res.dwps) >= 1 and set(res.dwps["copy"]) == {1}
    assert (res.dwps.central_index >= 65).all()
    assert (res.dismissed.asymmetry > 1e-6).all()


def test_a_pair_changing_both_copies_is_dismissed(two, demo_is, single):
    x = demo_is[IS_DWP]
    xis = np.vstack([x, x])
    xm = np.vstack([single.minimum(0), single.minimum(0) + SHIFT])
    verdict = verify_pair(two, xis, two.energy(xis), xm, two.energy(xm))
    assert not verdict.ok and verdict.record is None and "changes 2 copies" in verdict.reason
