"""Saddle methods: ridge and climbing-image NEB on Müller–Brown and on the 13 certified glass saddles."""

import numpy as np
import pytest
from scipy.optimize import minimize, root

import tlsviz
from tlsviz.engine.neb import neb_saddle
from tlsviz.engine.saddle import line_max_polish, ridge_point_basins, ridge_saddle
from tlsviz.engine.surfaces import CurvedValley, MullerBrown, SystemSurface
from tlsviz.search import participation_ratios

MB = MullerBrown()
# Literature positions (Müller & Brown 1979), refined below with scipy on the analytic gradient.
MB_MINIMA = [(-0.558, 1.442), (0.623, 0.028), (-0.050, 0.467)]
MB_SADDLES = {(0, 2): (-0.822, 0.624), (2, 1): (0.212, 0.293)}


def _grad(p):
    return -MB.energy_forces(p)[1]


@pytest.fixture(scope="module")
def mb_points():
    mins = [minimize(lambda p: MB.energy_forces(p)[0], x0, jac=_grad, method="BFGS",
                     options={"gtol": 1e-12}).x for x0 in MB_MINIMA]
    saddles = {k: root(_grad, x0, jac=MB.hessian, tol=1e-14).x for k, x0 in MB_SADDLES.items()}
    for k, s in saddles.items():
        assert np.allclose(s, MB_SADDLES[k], atol=2e-3)  # the refinement stayed on the known saddle
    return mins, saddles


@pytest.mark.parametrize("pair", [(0, 2), (2, 1)])
@pytest.mark.parametrize("method", ["ridge", "neb"])
def test_mueller_brown_saddles(mb_points, pair, method):
    mins, saddles = mb_points
    a, b = pair
    if method == "ridge":
        res = ridge_saddle(MB, mins[a], mins[b], sep=0.01, max_step=0.01)
    else:
        res = neb_saddle(MB, mins[a], mins[b], spring=100.0, ci_start=5.0, band_ftol=0.1,
                         dt=1e-4, dt_max=1e-3, max_move=0.01)
    assert res.converged
    np.testing.assert_allclose(res.positions, saddles[pair], atol=1e-6)
    assert res.energy == pytest.approx(MB.energy_forces(saddles[pair])[0], abs=1e-6)
    w = np.linalg.eigvalsh(MB.hessian(res.positions))
    assert w[0] < 0 < w[1]


def test_ridge_from_two_minima_not_directly_joined_stops_on_a_border_saddle(mb_points):
    """Minima 0 and 1 of Müller–Brown are joined only through minimum 2: the ridge between the
    basins of 0 and 1 along the straight line ends on the 0–2 saddle, which the search's
    verification then rejects ("connects a third minimum")."""
    mins, saddles = mb_points
    res = ridge_saddle(MB, mins[0], mins[1], sep=0.01, max_step=0.01)
    assert res.converged
    np.testing.assert_allclose(res.positions, saddles[(0, 2)], atol=1e-6)


def test_a_failed_ridge_walk_between_minima_joined_through_a_third_drains_into_it(mb_points):
    """Made-up failure: the walk from Müller–Brown minima 0 and 1 (joined only through minimum 2)
    is stopped after 10 steps, on the 0–2 border. Descending from its last point on both sides of
    the pair's direction reaches minimum 0 and minimum 2, the third minimum the search reports."""
    mins, _ = mb_points
    res = ridge_saddle(MB, mins[0], mins[1], sep=0.01, max_step=0.01, max_iter=10)
    assert not res.converged and "max_iter" in res.message
    assert res.mode is not None and np.linalg.norm(res.mode) == pytest.approx(1.0)
    ends = ridge_point_basins(MB, res.positions, res.mode, f_stop=1e-6)
    nearest = [int(np.argmin([np.linalg.norm(x - m) for m in mins])) for x, _ in ends]
    assert nearest == [0, 2]
    for (x, e), k in zip(ends, nearest):
        assert np.linalg.norm(x - mins[k]) < 1e-4 and e < res.energy


@pytest.mark.parametrize("h", [4.0, 6.0])
def test_ridge_walk_finds_the_saddle_of_a_curved_valley_where_the_line_maximum_polish_does_not(h):
    """CurvedValley: the straight line between the minima (±1, 0) peaks at (0, 0), h below the
    valley's saddle (0, h). The ridge walk follows the border up into the valley and its polish
    converges on (0, h), joined to both minima; the same polish started at the line maximum runs
    out of its trust-limited steps (0.05 × 60 = 3 < h) far below the saddle — the glass pairs cannot tell the two apart
    (docs/search.md)."""
    cv = CurvedValley(h=h)
    x1, x2 = np.array([-1.0, 0.0]), np.array([1.0, 0.0])
    for x in (x1, x2):
        assert np.max(np.abs(cv.energy_forces(x)[1])) < 1e-12
    r = ridge_saddle(cv, x1, x2, sep=0.01, max_step=0.01)
    assert r.converged and r.method == "ridge"
    np.testing.assert_allclose(r.positions, [0.0, h], atol=1e-8)
    assert r.energy == pytest.approx(1.0, abs=1e-10)
    w = np.linalg.eigvalsh(cv.hessian(r.positions))
    assert w[0] < 0 < w[1]
    # the two sides of its unstable mode descend to the two minima
    ends = [minimize(lambda p: cv.energy_forces(p)[0], r.positions + s * 0.01 * r.mode,
                     jac=lambda p: -cv.energy_forces(p)[1], method="BFGS", options={"gtol": 1e-10}).x
            for s in (-1, 1)]
    assert sorted(round(e[0]) for e in ends) == [-1, 1]
    assert max(min(np.linalg.norm(e - x1), np.linalg.norm(e - x2)) for e in ends) < 1e-2
    lp = line_max_polish(cv, x1, x2)
    assert not lp.converged and np.linalg.norm(lp.positions - [0.0, h]) > 0.5
    # analytic Hessian against finite differences of the forces
    p, eps = np.array([0.3, 0.7]), 1e-6
    fd = np.array([-(cv.energy_forces(p + d)[1] - cv.energy_forces(p - d)[1]) / (2 * eps) for d in np.eye(2) * eps])
    np.testing.assert_allclose(cv.hessian(p), fd.T, rtol=1e-6, atol=1e-6)


@pytest.fixture(scope="module")
def glass():
    system = tlsviz.KobAndersen(n=65)
    return system, SystemSurface(system)


def _aligned_pair(system, cert, i):
    x1, x2 = cert["is_positions"][i], cert["min_positions"][i]
    d = x2 - x1
    return x1, x1 + d - system.box * np.rint(d / system.box)


@pytest.mark.parametrize("i", range(13))
def test_ridge_finds_the_certified_glass_saddles(glass, certified, i):
    system, surface = glass
    x1, x2 = _aligned_pair(system, certified, i)
    res = ridge_saddle(surface, x1, x2)
    assert res.converged and res.grad_norm < 1e-10
    xs = res.positions.reshape(65, 3)
    assert res.energy == pytest.approx(float(certified["E_saddle"][i]), abs=1e-6)
    assert system.distance(xs, certified["saddle_positions"][i]) < 1e-5
    m = system.modes(xs)
    assert m.n_negative == 1
    assert m.lowest == pytest.approx(float(certified["lambda_neg"][i]), rel=1e-4)
    d_rp = system.distance(x1, xs) + system.distance(xs, x2)
    d_mwrp = system.distance(x1, xs, True) + system.distance(xs, x2, True)
    assert d_rp == pytest.approx(float(certified["d_rp"][i]), abs=1e-6)
    assert d_mwrp == pytest.approx(float(certified["d_mw_rp"][i]), abs=1e-6)
    assert system.distance(x1, x2) == pytest.approx(float(certified["d"][i]), abs=1e-9)
    assert system.distance(x1, x2, True) == pytest.approx(float(certified["d_mw"][i]), abs=1e-9)
    q = participation_ratios(system.displacements(x1, x2))
    np.testing.assert_allclose(q, [certified[f"q{k}"][i] for k in range(1, 5)], rtol=1e-8)
    amp = np.linalg.norm(system.displacements(x1, x2), axis=1)
    assert int(np.argmax(amp)) == int(certified["central_index"][i])
    assert int(system.types[np.argmax(amp)]) == int(certified["central_type"][i])


@pytest.mark.parametrize("i", [1, 3, 5])
def test_neb_agrees_with_ridge_on_glass_pairs(glass, certified, i):
    system, surface = glass
    x1, x2 = _aligned_pair(system, certified, i)
    ridge = ridge_saddle(surface, x1, x2)
    neb = neb_saddle(surface, x1, x2)
    assert ridge.converged and neb.converged
    assert neb.energy == pytest.approx(ridge.energy, abs=1e-8)
    assert system.distance(neb.positions.reshape(65, 3), ridge.positions.reshape(65, 3)) < 1e-5


def test_translation_complement_is_orthonormal_cached_and_read_only():
    from tlsviz.engine.modes import orthonormal_complement, translation_basis

    t = translation_basis(np.repeat([0, 1], 65))  # the "2 × N" system: six translations
    b = orthonormal_complement(t)
    assert b.shape == (390, 384)
    np.testing.assert_allclose(b.T @ b, np.eye(384), atol=1e-12)
    np.testing.assert_allclose(t.T @ b, 0.0, atol=1e-12)
    assert orthonormal_complement(t.copy()) is b  # one QR per system, not one per saddle
    assert not b.flags.writeable
    np.testing.assert_array_equal(orthonormal_complement(np.zeros((2, 0))), np.eye(2))


@pytest.mark.parametrize("i", [2, 6])
def test_polish_keeps_the_eigenbasis_near_the_saddle_and_lands_on_the_same_point(glass, certified, i):
    """Below reuse_below the P-RFO steps use the last Hessian's eigenbasis (chord steps): fewer
    Hessians, the same saddle as with a fresh Hessian at every step."""
    from tlsviz.engine.saddle import polish_saddle

    system, surface = glass
    xs = certified["saddle_positions"][i].ravel()
    rng = np.random.default_rng(i)
    start = xs + 0.01 * rng.standard_normal(xs.size)
    fresh = polish_saddle(surface, start, reuse_below=0.0)
    chord = polish_saddle(surface, start)
    assert fresh[3] and chord[3]                      # both converged to max|F| < 1e-10
    assert chord[5] < fresh[5]                        # fewer Hessians
    assert chord[4] - 1 > chord[5]                    # some steps without a new Hessian
    np.testing.assert_allclose(chord[0], fresh[0], atol=1e-9)
    assert chord[1] == pytest.approx(float(certified["E_saddle"][i]), abs=1e-10)
    assert system.modes(chord[0].reshape(65, 3), vectors=False).n_negative == 1


def test_eigenvalues_only_analysis(glass, certified):
    system, _ = glass
    xs = certified["saddle_positions"][3]
    full = system.modes(xs)
    values = system.modes(xs, vectors=False)
    np.testing.assert_allclose(values.eigenvalues, full.eigenvalues, rtol=0, atol=1e-10)
    assert values.n_negative == full.n_negative == 1 and values.eigenvectors is None
    with pytest.raises(ValueError, match="vectors=True"):
        values.unstable_mode


def test_mass_weighted_unstable_mode_is_the_lowest_eigenvector(glass, certified):
    from tlsviz.engine.saddle import mass_weighted_unstable_mode

    system, surface = glass
    xs = certified["saddle_positions"][7].ravel()
    sq = np.sqrt(surface.masses)
    w, u = np.linalg.eigh(system.hessian(xs.reshape(65, 3)) / np.outer(sq, sq))
    mode = mass_weighted_unstable_mode(surface, xs) * sq        # back to mass-weighted space
    assert w[0] < 0 and abs(mode @ u[:, 0]) == pytest.approx(1.0, abs=1e-10)


class _PythonGlass:
    """The glass surface without its compiled ridge walk (the generic Python loop runs)."""

    def __init__(self, system):
        self._s = SystemSurface(system)
        self.null_space, self.masses = self._s.null_space, self._s.masses

    n_evals = property(lambda self: self._s.n_evals)

    def energy_forces(self, x):
        return self._s.energy_forces(x)

    def hessian(self, x):
        return self._s.hessian(x)

    def max_displacement(self, dx):
        return self._s.max_displacement(dx)


@pytest.mark.parametrize("i", [0, 5])
def test_compiled_ridge_walk_is_the_python_walk(glass, certified, i):
    """The glass's compiled ridge steps (SystemSurface.ridge_walk) and the generic Python loop
    walk the same ridge: the same saddle, step count and number of evaluations (the compiled
    dot products round differently, so not the same bits)."""
    system, _ = glass
    x1, x2 = _aligned_pair(system, certified, i)
    fast = SystemSurface(system)
    assert hasattr(fast, "ridge_walk")
    slow = _PythonGlass(system)
    assert not hasattr(slow, "ridge_walk")
    a = ridge_saddle(fast, x1.ravel(), x2.ravel())
    b = ridge_saddle(slow, x1.ravel(), x2.ravel())
    assert a.converged and b.converged
    assert a.energy == pytest.approx(b.energy, abs=1e-10)
    assert system.distance(a.positions.reshape(-1, 3), b.positions.reshape(-1, 3)) < 1e-8
    assert a.n_iter == b.n_iter and abs(a.n_evals - b.n_evals) <= 0.02 * b.n_evals
