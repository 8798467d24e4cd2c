"""Is the ridge method doing the work? (issue 23, item 6): the ridge method (line maximum, ridge
walk, P-RFO polish: ``tlsviz.engine.saddle.ridge_saddle``) against the polish alone from the line
maximum (``line_max_polish``) on every pair of a catalogue: its DWPs and its dismissed pairs.

For each pair: does each method converge; do both give the same saddle (energy within 1e-8 ε,
distance below 1e-5 σ); is each saddle first order (one negative Hessian mode); force evaluations
per saddle. Run: ``python benchmarks/bench_ridge.py [CATALOGUE]`` (default: the demo catalogue,
30 IS); docs/search.md quotes it.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from tlsviz import Catalog
from tlsviz.demo import demo_catalog
from tlsviz.engine.saddle import line_max_polish, ridge_saddle
from tlsviz.engine.surfaces import SystemSurface
from tlsviz.search import _aligned


def pairs(cat):
    """(is_id, kind, x_is, x_min) for every DWP and every dismissed pair that has a minimum."""
    for i, r in cat.dwps.iterrows():
        yield int(r.is_id), "dwp", cat.positions("is", int(r.is_id)), cat.is_arrays(int(r.is_id), "minimum")[int(r.dwp_id)]
    for is_id, grp in cat.dismissed.groupby("is_id"):
        mins = cat.is_arrays(int(is_id), "dismissed_minimum")
        for k, (_, r) in enumerate(grp.iterrows()):
            if not str(r.reason).startswith("quench did not converge"):
                yield int(is_id), "dismissed", cat.positions("is", int(is_id)), mins[k]


def main(argv):
    cat = Catalog.open(argv[0]) if argv else demo_catalog()
    system = cat.system()
    surface = SystemSurface(system)
    rows = []
    t0 = time.perf_counter()
    for is_id, kind, x1, xm in pairs(cat):
        x2 = _aligned(x1, xm, system.box)
        out = {}
        for name, fn in (("ridge", ridge_saddle), ("polish", line_max_polish)):
            r = fn(surface, x1.ravel(), x2.ravel())
            order = system.modes(r.positions.reshape(-1, 3), vectors=False).n_negative if r.converged else -1
            out[name] = (r, order)
        (ra, oa), (rb, ob) = out["ridge"], out["polish"]
        same = (ra.converged and rb.converged and abs(ra.energy - rb.energy) < 1e-8
                and system.distance(ra.positions.reshape(-1, 3), rb.positions.reshape(-1, 3)) < 1e-5)
        rows.append(dict(kind=kind, ridge=ra.converged, polish=rb.converged, same=same, ridge_order=oa,
                         polish_order=ob, ridge_evals=ra.n_evals, polish_evals=rb.n_evals,
                         ridge_hess=ra.n_hessians, polish_hess=rb.n_hessians))
        if not same:
            print(f"IS {is_id} {kind}: ridge {ra.converged} ({ra.message}, order {oa}, E {ra.energy:.6f}) | "
                  f"line max + polish {rb.converged} ({rb.message}, order {ob}, E {rb.energy:.6f})", flush=True)
    n = len(rows)
    get = lambda k: np.array([r[k] for r in rows])
    print(f"\n{n} pairs ({(get('kind') == 'dwp').sum()} DWPs, {(get('kind') == 'dismissed').sum()} dismissed) "
          f"of {len(cat.minima)} IS, {time.perf_counter() - t0:.0f} s")
    print("| | ridge method | line maximum + polish |\n| --- | --- | --- |")
    print(f"| converged | {get('ridge').sum()} | {get('polish').sum()} |")
    print(f"| first-order saddle | {(get('ridge_order') == 1).sum()} | {(get('polish_order') == 1).sum()} |")
    print(f"| same saddle as the other | {get('same').sum()} | {get('same').sum()} |")
    print(f"| force evaluations per pair (mean, median) | {get('ridge_evals').mean():.0f}, "
          f"{np.median(get('ridge_evals')):.0f} | {get('polish_evals').mean():.0f}, {np.median(get('polish_evals')):.0f} |")
    print(f"| Hessians per pair (mean) | {get('ridge_hess').mean():.1f} | {get('polish_hess').mean():.1f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
