"""Write tests/data/tunnelling-reference.npz: converged λ and Δ₀ of the 13 certified pairs
(tests/data/certified-saddles.npz), the reference of tests/test_tunnelling.py's accuracy test.

Independent of tlsviz's path code: the steepest-descent (intrinsic reaction) path in mass-weighted
coordinates y = √m x, dy/ds = −∇V/|∇V|, is integrated in its arc length s by scipy's implicit
Radau method (rtol 1e-8, atol 1e-10, analytic Jacobian −(1 − n nᵀ) H / |∇V|), from the certified
saddle displaced by 1e-5 along ± the lowest mode of the mass-weighted Hessian, until |∇V| < 1e-7.
V(q) is sampled at 2001 points per side (q = s, exact arc length); the curvature at each end is the
mass-weighted Hessian along the direction in which the path arrives: that of ∇V where |∇V| = 1e-7,
followed analytically (g_i(t) = g_i e^(−λ_i t) in the Hessian's eigenbasis) from the first sample
with |∇V| < 1e-4 past the steepest point — the integrated path's own gradient at 1e-7 is polluted by its 1e-10
tolerance in the stiff directions (k_right of pair 2 came out 3.20 instead of 2.76). λ and Δ₀ then
come from tlsviz.tunnelling (WKB action, exact 1-D Schrödinger), which tests/test_tunnelling.py
checks on its own. Takes ~1–2 min per pair on one core:
``python tests/data/make_tunnelling_reference.py`` (or ``… PAIR OUT.npz`` for one pair).
"""

import sys
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

import tlsviz
from tlsviz.tunnelling import DoubleWell, tunnelling

DATA = Path(__file__).parent
RTOL, EPS, G_STOP, SAMPLES = 1e-8, 1e-5, 1e-7, 2001


def reference(system, cert, i):
    sq = np.sqrt(np.repeat(system.masses, 3))
    n = system.n_particles
    box = system.box

    def ef(y):
        e, f = system.energy_forces((y / sq).reshape(n, 3))
        return e, f.ravel() / sq

    def hess(y):
        return system.hessian((y / sq).reshape(n, 3)) / np.outer(sq, sq)

    def rhs(t, y):
        f = ef(y)[1]
        return f / np.linalg.norm(f)

    def jac(t, y):
        f = ef(y)[1]
        g = np.linalg.norm(f)
        nv = -f / g
        h = hess(y)
        return -(h - np.outer(nv, nv @ h)) / g

    def stop(t, y):
        return np.linalg.norm(ef(y)[1]) - G_STOP

    stop.terminal = True
    x_is = cert["is_positions"][i]
    d = cert["saddle_positions"][i] - x_is
    xs = x_is + d - box * np.rint(d / box)
    ys = xs.ravel() * sq
    _, vec = np.linalg.eigh(hess(ys))
    sides = []
    for sign in (-1.0, 1.0):
        sol = solve_ivp(rhs, (0.0, 50.0), ys + sign * EPS * vec[:, 0], method="Radau", rtol=RTOL,
                        atol=1e-2 * RTOL, jac=jac, events=stop, dense_output=True)
        s = np.linspace(0.0, sol.t[-1], SAMPLES)
        y = sol.sol(s).T
        gn = np.array([np.linalg.norm(ef(p)[1]) for p in y])
        top = int(np.argmax(gn))  # |∇V| is small near the saddle too: look past the steepest point
        k0 = top + int(np.argmax(gn[top:] < 1e-4))
        lam, ev = np.linalg.eigh(hess(y[k0]))
        gi = ev.T @ (-ef(y[k0])[1])
        pos = lam > 1e-9
        lam, gi, ev = lam[pos], gi[pos], ev[:, pos]
        lo, hi = 0.0, 1.0
        while np.linalg.norm(gi * np.exp(-lam * hi)) > G_STOP:
            lo, hi = hi, 2 * hi
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if np.linalg.norm(gi * np.exp(-lam * mid)) > G_STOP else (lo, mid)
        t_end = ev @ (gi * np.exp(-lam * hi))
        t_end /= np.linalg.norm(t_end)
        sides.append((EPS + s, y, float(t_end @ hess(y[-1]) @ t_end)))
    # the side that ends at the IS first
    ends = [(y[-1] / sq).reshape(n, 3) for _, y, _ in sides]
    if system.distance(ends[0], x_is) > system.distance(ends[1], x_is):
        sides = sides[::-1]
    (s0, y0, k0), (s1, y1, k1) = sides
    q = np.r_[s0[-1] - s0[::-1], s0[-1] + s1]
    y = np.vstack([y0[::-1], y1])
    v = np.array([ef(p)[0] for p in y])
    well = DoubleWell.from_samples(q, v - min(v[0], v[-1]), k_left=k0, k_right=k1)
    t = tunnelling(well)
    return dict(lam=t.wkb.lam, delta0_wkb=t.wkb.delta0, delta0=t.delta0, k_left=k0, k_right=k1,
                length=q[-1], barrier=well.barrier, asymmetry=well.asymmetry)


def main(argv):
    system = tlsviz.KobAndersen(n=65)
    cert = np.load(DATA / "certified-saddles.npz")
    pairs = [int(argv[0])] if argv else range(len(cert["E_IS"]))
    rows = [reference(system, cert, i) for i in pairs]
    out = Path(argv[1]) if len(argv) > 1 else DATA / "tunnelling-reference.npz"
    np.savez(out, pair=np.array(list(pairs)), **{k: np.array([r[k] for r in rows]) for k in rows[0]},
             rtol=RTOL, g_stop=G_STOP)
    for i, r in zip(pairs, rows):
        print(i, {k: float(f"{v:.6g}") for k, v in r.items()}, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
