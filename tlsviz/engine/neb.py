"""Climbing-image nudged elastic band: the second saddle method, a cross-check of the ridge method.

Henkelman, Uberuaga & Jónsson, J. Chem. Phys. 113, 9901 (2000) (climbing image) with the
improved tangent of Henkelman & Jónsson, J. Chem. Phys. 113, 9978 (2000). The band is
relaxed with FIRE (Bitzek et al., Phys. Rev. Lett. 97, 170201 (2006)); the climbing image
is switched on once the band's largest force is below ``ci_start``. When the band has
converged to ``band_ftol`` the climbing image is polished by the same Newton/P-RFO steps
as the ridge method (:func:`tlsviz.engine.saddle.polish_saddle`) to max|F| < ``ftol``.

NEB follows the lowest path wherever it leads: if it runs through a third minimum, the
climbing image sits on a saddle to that minimum. The ridge method is the reference; the
verification of :mod:`tlsviz.search` tells the two cases apart.
"""

from __future__ import annotations

import numpy as np

from .saddle import SaddleResult, _grad_norm, polish_saddle


def _tangent(e_prev, e, e_next, x_prev, x, x_next):
    """Unit tangent of the band at an image: the improved tangent of Henkelman & Jónsson (2000)."""
    tp, tm = x_next - x, x - x_prev
    if e_next > e > e_prev:
        t = tp
    elif e_next < e < e_prev:
        t = tm
    else:
        dmax = max(abs(e_next - e), abs(e_prev - e))
        dmin = min(abs(e_next - e), abs(e_prev - e))
        t = tp * dmax + tm * dmin if e_next > e_prev else tp * dmin + tm * dmax
    return t / np.linalg.norm(t)


def neb_saddle(surface, x1, x2, *, images=11, spring=5.0, band_ftol=1e-3, ci_start=0.1,
               ftol=1e-10, max_iter=5000, dt=0.02, dt_max=0.1, max_move=0.05,
               polish=True) -> SaddleResult:
    """The saddle between minima x1 and x2 by climbing-image NEB (docs/method.md §4).

    Parameters
    ----------
    surface : surface
        A surface of :mod:`tlsviz.engine.surfaces` (energy_forces, hessian, max_displacement).
    x1, x2 : (n,) array_like
        The two minima, flat; x2 minimum-image aligned to x1 by the caller.
    images : int
        Moving images between the fixed end points.
    spring : float
        Spring constant along the band (energy / length²).
    band_ftol : float
        The band has converged when its largest per-particle force is below this.
    ci_start : float
        The climbing image switches on once the band's largest force is below this.
    ftol : float
        Force tolerance of the final Newton/P-RFO polish of the climbing image.
    max_iter : int
        FIRE iterations at most.
    dt, dt_max : float
        FIRE's initial and largest time step.
    max_move : float
        Largest displacement of one particle of any image per FIRE step.
    polish : bool
        Polish the climbing image with :func:`tlsviz.engine.saddle.polish_saddle`.

    Returns
    -------
    SaddleResult
        ``method="neb"``; ``converged`` is False, with the reason in ``message``, when the
        band or the polish did not converge. Not certified: the caller checks the Hessian.
    """
    x1 = np.asarray(x1, dtype=float).ravel()
    x2 = np.asarray(x2, dtype=float).ravel()
    n_start = surface.n_evals
    ts = np.linspace(0.0, 1.0, images + 2)
    band = np.array([x1 + t * (x2 - x1) for t in ts])
    e_end = [surface.energy_forces(x1)[0], surface.energy_forces(x2)[0]]
    v = np.zeros((images, x1.size))
    a_start, alpha, n_pos = 0.1, 0.1, 0
    climbing = False
    it = 0
    fmax = np.inf
    for it in range(max_iter):
        ef = [surface.energy_forces(band[k]) for k in range(1, images + 1)]
        es = np.r_[e_end[0], [e for e, _ in ef], e_end[1]]
        forces = np.empty_like(v)
        ci = int(np.argmax(es[1:-1]))
        for k in range(images):
            x_prev, x, x_next = band[k], band[k + 1], band[k + 2]
            t = _tangent(es[k], es[k + 1], es[k + 2], x_prev, x, x_next)
            f = ef[k][1]
            if climbing and k == ci:
                forces[k] = f - 2.0 * (f @ t) * t
            else:
                f_perp = f - (f @ t) * t
                f_spring = spring * (np.linalg.norm(x_next - x) - np.linalg.norm(x - x_prev)) * t
                forces[k] = f_perp + f_spring
        fmax = max(_grad_norm(surface, forces[k]) for k in range(images))
        if not climbing and fmax < ci_start:
            climbing = True
            continue
        if climbing and fmax < band_ftol:
            break
        # FIRE
        power = float(np.sum(forces * v))
        if power > 0:
            vn, fn = np.linalg.norm(v), np.linalg.norm(forces)
            v = (1 - alpha) * v + alpha * forces * (vn / fn)
            n_pos += 1
            if n_pos > 5:
                dt = min(dt * 1.1, dt_max)
                alpha *= 0.99
        else:
            v[:] = 0.0
            dt *= 0.5
            alpha = a_start
            n_pos = 0
        v += dt * forces
        step = dt * v
        biggest = max(surface.max_displacement(step[k]) for k in range(images))
        if biggest > max_move:
            step *= max_move / biggest
        band[1:-1] += step
    ef = [surface.energy_forces(band[k]) for k in range(1, images + 1)]
    es = np.array([e for e, _ in ef])
    ci = int(np.argmax(es))
    x, e, f = band[ci + 1], es[ci], ef[ci][1]
    if not (climbing and fmax < band_ftol):
        return SaddleResult(x, float(e), _grad_norm(surface, f), False, surface.n_evals - n_start, 0,
                            it, "neb", f"band not converged (max force {fmax:.2e}) after {it} iterations")
    if not polish:
        return SaddleResult(x, float(e), _grad_norm(surface, f), _grad_norm(surface, f) < ftol,
                            surface.n_evals - n_start, 0, it, "neb", "band converged")
    xs, es_, fs, conv, _, nh, mode = polish_saddle(surface, x, ftol=ftol)
    return SaddleResult(xs, float(es_), _grad_norm(surface, fs), bool(conv), surface.n_evals - n_start, nh,
                        it, "neb", "converged" if conv else "polish of the climbing image did not converge",
                        mode)
