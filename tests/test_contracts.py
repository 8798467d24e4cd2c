"""Contracts that every variant must keep, run over all of them (as ASE runs one contract over all
its optimisers).

- The quench contract, over every minimiser :mod:`tlsviz.engine.minimize` offers (the methods of
  :meth:`tlsviz.KobAndersen.quench`, and the search tries' L-BFGS variants with a fixed
  preconditioner): converged to max_i |F_i| < ftol, no negative mode, and the same minimum from
  the same start as every other minimiser.
- The surface contract, over the glass (one copy, two copies, the Verlet list) and the 2-D test
  surface: forces are minus the gradient of the energy, the Hessian is symmetric and is the
  derivative of the gradient, and a descent followed by Newton steps finds the same minimum from
  two starts in its basin.
"""

import numpy as np
import pytest

import tlsviz
from tlsviz.engine import minimize, surfaces as surfaces_module
from tlsviz.engine.saddle import descent_path
from tlsviz.engine.surfaces import SystemSurface
from tlsviz.search import PRECOND_FLOOR

# ---------------------------------------------------------------------------------------- quench

#: Every minimiser: (name, method code, uses the start IS's inverse Hessian as fixed preconditioner).
MINIMISERS = [(name, code, False) for name, code in minimize.METHODS.items()] + [
    ("lbfgs+P", minimize.METHODS["lbfgs"], True),           # the search tries without Hessian steps
    ("lbfgs-hessian+P", minimize.METHODS["lbfgs-hessian"], True),  # the search tries' default
]
#: Same minimum: energies within this (ε) and positions within this distance d (σ). A quench to
#: max|F| < 1e-10 places the particles within ~1e-9 σ of the minimum (smallest curvature ≳ 0.1).
SAME_E, SAME_X = 1e-9, 1e-7
#: Preconditioner floor on the curvatures (ε/σ²), the search's value.
FLOOR = PRECOND_FLOOR


def _starts(ka65, lammps_ref, certified):
    """Starting points, each with the IS whose inverse Hessian the preconditioned variants use:
    the LAMMPS T = 0.5 snapshot (its IS is the LAMMPS IS), and two points near a certified saddle
    on either side of its unstable mode (they roll into different minima)."""
    x_snap = lammps_ref["n65_snapshot_positions"]
    x_is = lammps_ref["n65_is_positions"]
    xs = certified["saddle_positions"][0]
    mode = ka65.modes(xs).unstable_mode
    kick = 1e-2 * mode / np.abs(mode).max()
    x_is0 = certified["is_positions"][0]
    return {"snapshot": (x_snap, x_is), "saddle-": (xs - kick, x_is0), "saddle+": (xs + kick, x_is0)}


@pytest.fixture(scope="module")
def quenches(ka65, lammps_ref, certified):
    """{start: {minimiser: QuenchResult}}."""
    out = {}
    for start, (x0, x_ref) in _starts(ka65, lammps_ref, certified).items():
        p, ok = minimize._inverse_hessian(np.ascontiguousarray(x_ref).ravel(), ka65.model, FLOOR)
        assert ok, "the reference IS must be a minimum with every curvature above the floor"
        runs = {}
        for name, code, use_p in MINIMISERS:
            runs[name] = minimize._minimize(np.ascontiguousarray(x0), ka65.model, minimize.FTOL,
                                            minimize.MAX_ITER, minimize.MAX_STEP, code,
                                            p if use_p else minimize.NO_PRECOND)
        out[start] = runs
    return out


def test_every_minimiser_is_tested():
    """The contract covers every method the quench accepts (a new one must be added here)."""
    assert {name for name, _, use_p in MINIMISERS if not use_p} == set(minimize.METHODS)


@pytest.mark.parametrize("start", ["snapshot", "saddle-", "saddle+"])
@pytest.mark.parametrize("name", [m[0] for m in MINIMISERS])
def test_quench_contract(ka65, quenches, start, name):
    """Converged to the stated max|F|, a certified minimum (no negative mode, the three zero
    modes are the translations), and the same minimum as CG from the same start."""
    x, e, g, n_evals, n_iter, converged = quenches[start][name]
    assert converged and g < minimize.FTOL
    assert n_evals > n_iter > 0
    e_check, f = ka65.energy_forces(x)
    assert e == pytest.approx(e_check, abs=1e-12)
    assert g == pytest.approx(np.max(np.linalg.norm(f, axis=1)), rel=1e-12)
    m = ka65.modes(x, vectors=False)
    assert m.n_negative == 0 and m.lowest > 1e-3
    ref = quenches[start]["cg"]
    assert abs(e - ref.energy) < SAME_E
    assert ka65.distance(x, ref.positions) < SAME_X


def test_quench_contract_starts_reach_distinct_minima(ka65, quenches, lammps_ref, certified):
    """The starts are not all the same problem: the two sides of the saddle end in two different
    minima below it, and the snapshot ends in the LAMMPS inherent structure."""
    lo, hi = quenches["saddle-"]["cg"], quenches["saddle+"]["cg"]
    assert ka65.distance(lo.positions, hi.positions) > 1e-2
    assert max(lo.energy, hi.energy) < float(certified["E_saddle"][0]) - 1e-4
    snap = quenches["snapshot"]["cg"]
    assert snap.energy == pytest.approx(float(lammps_ref["n65_is_energy"]), abs=1e-9)
    assert ka65.distance(snap.positions, lammps_ref["n65_is_positions"]) < 1e-6


def test_quench_contract_through_the_system(ka65, lammps_ref, quenches):
    """``KobAndersen.quench(method=...)`` is the compiled minimiser, bit for bit."""
    x0 = lammps_ref["n65_snapshot_positions"]
    for name in minimize.METHODS:
        q = ka65.quench(x0, method=name)
        x, e, g, n_evals, n_iter, converged = quenches["snapshot"][name]
        np.testing.assert_array_equal(q.positions, x)
        assert (q.energy, q.grad_norm, q.n_evals, q.n_iter, q.converged) == (e, g, n_evals, n_iter, converged)
        assert isinstance(q, tlsviz.QuenchResult)
        assert [type(v) for v in q[1:]] == [float, float, int, int, bool]  # counters are ints


# --------------------------------------------------------------------------------------- surface

#: A start inside a basin of each 2-D test surface of tlsviz.engine.surfaces, by class name.
PLANE_STARTS = {
    "MullerBrown": (0.5, 0.2),  # the basin of the minimum near (0.623, 0.028)
    "CurvedValley": (0.8, 0.1),  # the basin of the minimum (1, 0)
}
#: Every 2-D test surface the package defines (a new one joins the contract by itself).
PLANES = sorted(name for name, obj in vars(surfaces_module).items()
                if isinstance(obj, type) and getattr(obj, "shape", None) == (2,))


def test_every_test_surface_is_in_the_contract():
    assert "MullerBrown" in PLANES
    missing = [name for name in PLANES if name not in PLANE_STARTS]
    assert not missing, f"give the surface contract a start in a basin of {missing} (PLANE_STARTS)"


@pytest.fixture(scope="module")
def surfaces(lammps_ref):
    """{name: (surface, a start point (n,), energy scale of the surface)}."""
    snap = lammps_ref["n65_snapshot_positions"]
    one = tlsviz.KobAndersen(n=65)
    two = tlsviz.KobAndersen(n=65, copies=2)
    near = lammps_ref["n65_is_positions"]
    x2 = np.concatenate([snap, near + 0.02 * np.random.default_rng(7).standard_normal((65, 3))])
    big = tlsviz.KobAndersen(n=260, neighbor="verlet")
    # near the LAMMPS IS, so that the descent is short (a (780, 780) Hessian per Newton step)
    x_big = lammps_ref["n260_is_positions"] + 0.02 * np.random.default_rng(8).standard_normal((260, 3))
    return {
        "glass": (SystemSurface(one), snap.ravel().copy(), 1.0),
        "glass-2-copies": (SystemSurface(two), x2.ravel(), 1.0),
        "glass-verlet-260": (SystemSurface(big), x_big.ravel(), 1.0),
        **{name: (getattr(surfaces_module, name)(), np.array(PLANE_STARTS[name], dtype=float), 100.0)
           for name in PLANES if name in PLANE_STARTS},
    }


SURFACES = ["glass", "glass-2-copies", "glass-verlet-260", *PLANES]


def _directions(n, k, seed):
    """k random unit directions in n dimensions (all n axes too when n is small)."""
    if n <= 6:
        return np.eye(n)
    v = np.random.default_rng(seed).standard_normal((k, n))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("name", SURFACES)
def test_surface_forces_are_minus_the_energy_gradient(surfaces, name):
    surface, x, scale = surfaces[name]
    _, f = surface.energy_forces(x)
    assert f.shape == x.shape
    h = 1e-5
    for d in _directions(x.size, 6, 0):
        ep = surface.energy_forces(x + h * d)[0]
        em = surface.energy_forces(x - h * d)[0]
        fd = (ep - em) / (2 * h)
        assert -f @ d == pytest.approx(fd, abs=1e-6 * scale * max(1.0, np.abs(f).max()))


@pytest.mark.parametrize("name", SURFACES)
def test_surface_hessian_is_symmetric_and_the_gradient_derivative(surfaces, name):
    surface, x, scale = surfaces[name]
    hm = surface.hessian(x)
    assert hm.shape == (x.size, x.size)
    np.testing.assert_allclose(hm, hm.T, atol=1e-10 * np.abs(hm).max())
    h = 1e-6
    for d in _directions(x.size, 6, 1):
        fp = surface.energy_forces(x + h * d)[1]
        fm = surface.energy_forces(x - h * d)[1]
        np.testing.assert_allclose(hm @ d, -(fp - fm) / (2 * h), atol=1e-6 * np.abs(hm).max())


def _find_minimum(surface, x0):
    """The minimum of x0's basin by the surface's own means: the steepest-descent path (compiled
    for the glass), then Newton steps on the Hessian restricted to the complement of the
    surface's null space, to max|F| < 1e-10."""
    _, f = surface.energy_forces(x0)
    pts, es = descent_path(surface, x0, f, ds=0.01, f_stop=1e-2)
    assert np.all(np.diff(es) < 0)
    x = pts[-1].copy()
    ns = surface.null_space
    lift = ns @ ns.T  # H has the null space as exact zero modes, and F has no part along it
    for _ in range(30):
        e, f = surface.energy_forces(x)
        if np.max(np.linalg.norm(f.reshape(-1, min(x.size, 3)), axis=1)) < 1e-10:
            break
        x = x + np.linalg.solve(surface.hessian(x) + lift, f)
    else:
        raise AssertionError("the Newton steps did not converge")
    return x, e


@pytest.mark.parametrize("name", SURFACES)
def test_surface_finds_the_same_minimum_twice(surfaces, name):
    """From the start and from a point moved 1e-3 away in the same basin: the same minimum, a
    minimum (no negative curvature off the null space), below the start."""
    surface, x0, scale = surfaces[name]
    a, ea = _find_minimum(surface, x0)
    x1 = x0 + 1e-3 * np.random.default_rng(2).standard_normal(x0.size)
    b, eb = _find_minimum(surface, x1)
    assert ea < surface.energy_forces(x0)[0]
    assert abs(ea - eb) < 1e-9 * scale
    d = b - a
    d -= surface.null_space @ (surface.null_space.T @ d)  # a translation is the same minimum
    if hasattr(surface, "system"):
        d = d.reshape(-1, 3)
        d -= surface.system.box * np.rint(d / surface.system.box)
    assert np.max(np.abs(d)) < 1e-7
    ns = surface.null_space
    proj = np.eye(a.size) - ns @ ns.T
    w = np.linalg.eigvalsh(proj @ surface.hessian(a) @ proj + ns @ ns.T)  # null space at 1
    assert w[0] > 1e-6 * scale


def test_surface_minimum_of_the_glass_is_the_quench_minimum(surfaces):
    """The surface's minimum of the one-copy glass is the minimum the system's quench reaches."""
    surface, x0, _ = surfaces["glass"]
    a, ea = _find_minimum(surface, x0)
    q = surface.system.quench(x0.reshape(65, 3), method="lbfgs-hessian")
    assert ea == pytest.approx(q.energy, abs=1e-9)
    assert surface.system.distance(a.reshape(65, 3), q.positions) < 1e-7
