"""Quench method vs the method (issue 23, item 7): how often the search's quench (L-BFGS with the
IS's Hessian as preconditioner, ``minimizer="lbfgs-hessian"``) and the method's Polak–Ribière CG
(``minimizer="cg"``) end a try in different minima, and what that does to the DWPs.

Per IS (campaign IS of the demo configuration, ``tlsviz.demo.DEMO_CONFIG``, is_id 0, 1, …): the same
tries (same velocities, drawn from SeedSequence([seed, is_id, k])) quenched by both minimisers;
the ends compared with the search's permutation-aware identity (``same_minimum``). Then a whole
search per IS with each minimiser: DWPs found by one and not the other, and the try-count
histogram (how many tries found each DWP). Run: ``python benchmarks/bench_minimizers.py --minima 4
--tries 100`` (prints a markdown summary; docs/search.md quotes it).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import tlsviz
from tlsviz.campaign import campaign_is
from tlsviz.demo import DEMO_CONFIG
from tlsviz.search import SearchParams, run_tries, same_minimum


def dwp_keys(system, res):
    return [(float(r.min_energy), res.minimum(i)) for i, r in res.dwps.iterrows()]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minima", type=int, default=4)
    p.add_argument("--tries", type=int, default=100)
    p.add_argument("--seed", type=int, default=DEMO_CONFIG.seed)
    a = p.parse_args(argv)
    system = tlsviz.KobAndersen(n=DEMO_CONFIG.n)
    hess, cg = SearchParams(), SearchParams(minimizer="cg")
    t0 = time.perf_counter()
    n_tries = n_diff = n_diff_is = n_unconv = 0
    n_only = {"lbfgs-hessian": 0, "cg": 0}
    n_dwps = {"lbfgs-hessian": 0, "cg": 0}
    count_pairs = []
    for is_id in range(a.minima):
        x_is = campaign_is(DEMO_CONFIG, is_id).positions
        e_is = system.energy(x_is)
        ks = list(range(a.tries))
        out_h = run_tries(system, x_is, ks, seed=a.seed, is_id=is_id, params=hess)
        out_c = run_tries(system, x_is, ks, seed=a.seed, is_id=is_id, params=cg)
        for k in ks:
            n_tries += 1
            if not (out_h.converged[k] and out_c.converged[k]):
                n_unconv += 1
                continue
            if not same_minimum(system, out_h.positions[k], float(out_h.energy[k]), out_c.positions[k],
                                float(out_c.energy[k])):
                n_diff += 1
                back = [same_minimum(system, x_is, e_is, o.positions[k], float(o.energy[k])) for o in (out_h, out_c)]
                n_diff_is += any(back)
        res = {m: tlsviz.search_dwps(system, x_is, a.tries, a.seed, is_id=is_id, minimizer=m)
               for m in ("lbfgs-hessian", "cg")}
        for m, other in (("lbfgs-hessian", "cg"), ("cg", "lbfgs-hessian")):
            n_dwps[m] += len(res[m].dwps)
            for e, x in dwp_keys(system, res[m]):
                if not any(same_minimum(system, x, e, y, f) for f, y in dwp_keys(system, res[other])):
                    n_only[m] += 1
        for i, r in res["lbfgs-hessian"].dwps.iterrows():
            for j, rc in res["cg"].dwps.iterrows():
                if same_minimum(system, res["lbfgs-hessian"].minimum(i), r.min_energy, res["cg"].minimum(j),
                                rc.min_energy):
                    count_pairs.append((int(r["count"]), int(rc["count"])))
        print(f"IS {is_id}: {n_diff} of {n_tries} tries differ so far; DWPs {n_dwps}", flush=True)
    seconds = time.perf_counter() - t0
    print(f"\n| quantity | value |\n| --- | --- |")
    print(f"| IS × tries | {a.minima} × {a.tries} = {n_tries} |")
    print(f"| tries ending in different minima | {n_diff} ({100 * n_diff / max(n_tries, 1):.2f} %), "
          f"{n_diff_is} of them with one minimiser back in the IS |")
    print(f"| tries not converged by one of them | {n_unconv} |")
    print(f"| DWPs (lbfgs-hessian / cg) | {n_dwps['lbfgs-hessian']} / {n_dwps['cg']} |")
    print(f"| DWPs found by only one | lbfgs-hessian {n_only['lbfgs-hessian']}, cg {n_only['cg']} |")
    if count_pairs:
        c = np.array(count_pairs)
        print(f"| try counts of the common DWPs (lbfgs-hessian vs cg) | {c[:, 0].tolist()} vs {c[:, 1].tolist()} |")
    print(f"| seconds | {seconds:.0f} |")


if __name__ == "__main__":
    main()
