"""Speed of the N = 65 DWP search: tries (tlsviz vs LAMMPS) and full searches.

    python benchmarks/bench_search.py [--tries 100] [--n-is 3] [--search-is 5]
                                      [--t-search T] [--n-search STEPS] [--repeats 5]

Part 1, tries. On the first --n-is distinct certified inherent structures of
tests/data/certified-saddles.npz, --tries tries each, done by

* tlsviz: tlsviz.search.run_tries(system, x_is, ks, seed, is_id, params, precond) in batches
  as a search runs them (Maxwell velocities at t_search from SeedSequence([seed, is_id, k]),
  n_search NVE steps at dt, minimisation to max_i |F_i| < ftol with the params' minimiser:
  preconditioned L-BFGS by default; also plain L-BFGS and CG, for like-for-like rows);
* LAMMPS driven from Python: LammpsKA.try_ with the very same velocities (drawn here exactly
  as tlsviz draws them), the same n_search steps at dt and `min_style cg` to
  max_i |F_i| < ftol.

Reports ms per try and tries per second on one core for each, the ratio, and for what
fraction of tries both engines end in the same minimum (|ΔE| < 1e-7; the MD is chaotic, so
round-off differences can send the two engines to different minima).

Part 2, full searches: tlsviz.search_dwps(system, x_is, tries=400, seed=7) (same params) on
the first --search-is distinct certified IS: seconds of the tries and of the saddle stage,
pairs examined, DWPs verified, seconds per pair and per verified DWP, against the target of
1 s for a whole N = 65 search of one IS.

Single core (NUMBA_NUM_THREADS=1, OMP_NUM_THREADS=1); every timing is the best of --repeats
runs (the machine may be shared); in part 1 the engines take turns every batch of 10 tries,
so that both meet the machine's slow and fast spells alike. Prints markdown tables and replaces the bench_search
section of benchmarks/RESULTS.md (unless --no-write).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _benchutil as bu  # noqa: E402

bu.set_single_thread()

import numpy as np  # noqa: E402

import tlsviz  # noqa: E402
from tlsviz.search import (TRY_BATCH, SearchParams, hessian_preconditioner, run_try,  # noqa: E402
                           run_tries, same_minimum, search_dwps, verify_pair)

from lammps_driver import LammpsKA  # noqa: E402

CERT = HERE.parent / "tests" / "data" / "certified-saddles.npz"


def try_velocities(system, params, seed, is_id, k):
    """The velocities of try k exactly as tlsviz's tries draw them."""
    return tlsviz.search.try_velocities(system, [k], seed=seed, is_id=is_id, params=params)[0]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tries", type=int, default=100, help="tries per IS in part 1 [default: %(default)s]")
    p.add_argument("--n-is", type=int, default=3, help="distinct certified IS in part 1 [default: %(default)s]")
    p.add_argument("--search-is", type=int, default=5,
                   help="distinct certified IS searched in part 2 (0 skips it) [default: %(default)s]")
    p.add_argument("--search-tries", type=int, default=400, help="tries per full search [default: %(default)s]")
    p.add_argument("--seed", type=int, default=7, help="search seed [default: %(default)s]")
    p.add_argument("--t-search", type=float, default=None, help="try temperature [default: SearchParams]")
    p.add_argument("--n-search", type=int, default=None, help="MD steps per try [default: SearchParams]")
    p.add_argument("--minimizer", default=None,
                   help="tlsviz minimiser of the tries, if SearchParams has that field [default: SearchParams]")
    p.add_argument("--repeats", type=int, default=5, help="runs per timing, best reported [default: 5]")
    p.add_argument("--target", type=float, default=1.0, help="seconds allowed for one full search [default: 1]")
    p.add_argument("--no-write", action="store_true", help="do not touch benchmarks/RESULTS.md")
    args = p.parse_args()
    t_start = time.perf_counter()
    info = bu.machine_info()
    command = bu.command_line()

    over = {}
    if args.t_search is not None:
        over["t_search"] = args.t_search
    if args.n_search is not None:
        over["n_search"] = args.n_search
    if args.minimizer is not None:
        if "minimizer" not in SearchParams.__dataclass_fields__:
            p.error("this tlsviz has no SearchParams.minimizer")
        over["minimizer"] = args.minimizer
    params = dataclasses.replace(SearchParams(), **over).validate()
    minimizer = getattr(params, "minimizer", "cg")

    cert = np.load(CERT)
    system = tlsviz.KobAndersen(n=65)
    assert np.array_equal(cert["types"], system.types) and abs(float(cert["box"]) - system.box) < 1e-12
    _, first = np.unique(np.round(cert["E_IS"], 7), return_index=True)
    distinct = sorted(int(i) for i in first)  # indices of distinct IS, in file order
    need = max(args.n_is, args.search_is)
    if need > len(distinct):
        p.error(f"only {len(distinct)} distinct certified IS")
    xs = {i: system.check_positions(cert["is_positions"][i]) for i in distinct[:need]}
    es = {i: system.energy(x) for i, x in xs.items()}

    # ------------------------------------------------------------ warm-up
    i0 = distinct[0]
    run_try(system, xs[i0], 0, seed=args.seed, params=params)
    verify_pair(system, xs[i0], es[i0], cert["min_positions"][i0], system.energy(cert["min_positions"][i0]), params)
    lmp = LammpsKA(system.types, system.box, xs[i0])
    lmp.try_(xs[i0], try_velocities(system, params, args.seed, 0, 0), params.n_search, params.ftol, dt=params.dt)

    # ------------------------------------------------------------ part 1: tries
    ids = distinct[:args.n_is]
    n_total = len(ids) * args.tries
    # the search's own minimiser, plus CG (what LAMMPS uses) for a like-for-like row
    lbfgs_p = minimizer in ("lbfgs", "lbfgs-hessian") and params.precondition
    variants = {minimizer + (", preconditioned" if lbfgs_p else ""): params}
    if lbfgs_p and minimizer != "lbfgs":
        variants["lbfgs, preconditioned"] = dataclasses.replace(params, minimizer="lbfgs")
    if lbfgs_p:
        variants["lbfgs, plain"] = dataclasses.replace(params, minimizer="lbfgs", precondition=False)
    if minimizer != "cg":
        variants["cg"] = dataclasses.replace(params, minimizer="cg")
    default = next(iter(variants))
    # the search computes the preconditioner once per IS (the inverse of its Hessian);
    # so do the passes below, inside their timing
    pre = {(m, i): hessian_preconditioner(system, xs[i], pv) for m, pv in variants.items() for i in xs}
    for m, pv in variants.items():
        run_try(system, xs[i0], 0, seed=args.seed, params=pv, precond=pre[m, i0])
    print(f"part 1: {args.tries} tries on each of the certified IS {ids} "
          f"(t_search {params.t_search}, n_search {params.n_search}, dt {params.dt}, ftol {params.ftol:g}, "
          f"tlsviz minimisers {list(variants)}) ...", flush=True)
    cmp = {m: dict(same=0, both_is=0, conv=0, evals=0) for m in variants}
    md_same = conv_l = ev_l = 0
    for j, i in enumerate(ids):
        x = xs[i]
        for k in range(args.tries):
            v = try_velocities(system, params, args.seed, j, k)
            r = lmp.try_(x, v, params.n_search, params.ftol, dt=params.dt, stats=True)
            conv_l += r["max_force"] < params.ftol
            ev_l += r["n_evals"]
            xt, _ = system.nve(x, v, params.n_search, dt=params.dt)
            xl, _ = lmp.nve(x, v, params.n_search, dt=params.dt)
            md_same += np.abs(xt - xl).max() < 1e-6
            for m, pv in variants.items():
                t = run_try(system, x, k, seed=args.seed, is_id=j, params=pv, precond=pre[m, i])
                c = cmp[m]
                c["conv"] += t.converged
                c["evals"] += t.n_evals - params.n_search - 1
                if abs(t.energy - r["energy"]) < 1e-7:
                    c["same"] += 1
                    c["both_is"] += bool(same_minimum(system, x, es[i], t.positions, t.energy) and
                                         same_minimum(system, x, es[i], r["positions"], r["energy"]))

    def one_pass():
        """All tries once by every engine, the engines taking turns batch by batch (10 tries: ~0.2 s
        of LAMMPS), so that both meet the machine's slow and fast spells alike; returns the
        seconds per engine."""
        t_lmp, t_tls = 0.0, {m: 0.0 for m in variants}
        for j, i in enumerate(ids):
            p_i = {}
            for m, pv in variants.items():
                t0 = time.perf_counter()
                p_i[m] = hessian_preconditioner(system, xs[i], pv)
                t_tls[m] += time.perf_counter() - t0
            for k0 in range(0, args.tries, TRY_BATCH):  # as a search runs them
                ks = range(k0, min(k0 + TRY_BATCH, args.tries))
                t0 = time.perf_counter()
                for k in ks:
                    v = try_velocities(system, params, args.seed, j, k)
                    lmp.try_(xs[i], v, params.n_search, params.ftol, dt=params.dt, stats=False)
                t_lmp += time.perf_counter() - t0
                for m, pv in variants.items():
                    t0 = time.perf_counter()
                    run_tries(system, xs[i], ks, seed=args.seed, is_id=j, params=pv, precond=p_i[m])
                    t_tls[m] += time.perf_counter() - t0
        return t_lmp, t_tls

    t_l, t_v = np.inf, {m: np.inf for m in variants}
    for _ in range(args.repeats):
        a, b = one_pass()
        t_l = min(t_l, a / n_total)
        for m in variants:
            t_v[m] = min(t_v[m], b[m] / n_total)
    lmp.close()
    t_t = t_v[default]
    rows_try = []
    for m in variants:
        c = cmp[m]
        tag = " (search default)" if m == default and len(variants) > 1 else ""
        rows_try.append([f"tlsviz `run_try`, {m}{tag}", f"{1e3 * t_v[m]:.2f}", f"{1 / t_v[m]:.0f}",
                         f"{c['evals'] / n_total:.0f}", f"{c['conv']}/{n_total}", f"{t_l / t_v[m]:.2f}",
                         f"{c['same']}/{n_total} ({c['both_is']} in the IS)"])
    rows_try.append(["LAMMPS `try_`, cg (from Python)", f"{1e3 * t_l:.2f}", f"{1 / t_l:.0f}", f"{ev_l / n_total:.0f}",
                     f"{conv_l}/{n_total}", "1", "–"])
    try_headers = ["engine", "ms/try", "tries/s (1 core)", "minimiser evals/try", "converged",
                   "LAMMPS / this", "same minimum as LAMMPS"]
    print(bu.table(try_headers, rows_try), flush=True)

    # ------------------------------------------------------------ part 2: full searches
    rows_s = []
    tot = dict(tries=0.0, saddles=0.0, wall=0.0, pairs=0, dwps=0, met=0)
    reasons = {}
    sids = distinct[:args.search_is]
    for i in sids:
        best = None
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            res = search_dwps(system, xs[i], tries=args.search_tries, seed=args.seed, params=params)
            wall = time.perf_counter() - t0
            if best is None or wall < best[0]:
                best = (wall, res)
        wall, res = best
        st = res.stats
        s_tries, s_sad = st["seconds_tries"], st["seconds"] - st["seconds_tries"]
        pairs, ndwp = int(st["distinct"]), len(res.dwps)
        for r in res.dismissed.reason:
            key = "d_mw,rp ≥ d_max after the saddle" if r.startswith("d_mw,rp") else r
            reasons[key] = reasons.get(key, 0) + 1
        met = wall <= args.target
        tot["tries"] += s_tries
        tot["saddles"] += s_sad
        tot["pairs"] += pairs
        tot["dwps"] += ndwp
        tot["met"] += met
        tot["wall"] += wall
        rows_s.append([i, f"{es[i]:.4f}", f"{s_tries:.2f}", f"{s_sad:.2f}", f"{wall:.2f}", pairs, ndwp,
                       bu.fmt(s_sad / pairs if pairs else None, ".3f"), bu.fmt(s_sad / ndwp if ndwp else None, ".3f"),
                       "yes" if met else "no"])
        print(f"IS {i}: tries {s_tries:.2f} s, saddles {s_sad:.2f} s, total {wall:.2f} s, pairs {pairs}, "
              f"DWPs {ndwp}", flush=True)
    if sids:
        m = len(sids)
        rows_s.append([f"**mean of {m}**", "", f"{tot['tries'] / m:.2f}", f"{tot['saddles'] / m:.2f}",
                       f"{tot['wall'] / m:.2f}", f"{tot['pairs'] / m:.1f}",
                       f"{tot['dwps'] / m:.1f}",
                       bu.fmt(tot["saddles"] / tot["pairs"] if tot["pairs"] else None, ".3f"),
                       bu.fmt(tot["saddles"] / tot["dwps"] if tot["dwps"] else None, ".3f"),
                       f"{tot['met']}/{m}"])

    # ------------------------------------------------------------ report
    pdesc = ", ".join(f"{k} = {getattr(params, k)}" for k in ("t_search", "n_search", "dt", "ftol")) + \
        f", minimiser {minimizer}" + ("" if over else " (the `SearchParams` defaults)")
    out = [f"## Search at N = 65 (`bench_search.py`)\n",
           bu.info_block(info, command),
           f"Parameters: {pdesc}. Certified IS of `tests/data/certified-saddles.npz` (distinct ones, by "
           f"index in the file). Timings: best of {args.repeats}, in part 1 the engines taking turns every batch of 10 tries (a pass is all tries once by every engine; best pass per engine).\n",
           f"### Tries: tlsviz vs LAMMPS driven from Python ({args.tries} tries on each of IS {ids})\n",
           "Same velocities for both (drawn as `run_try` draws them from `SeedSequence([seed, is_id, k])`), "
           f"{params.n_search} velocity-Verlet steps at dt = {params.dt}, then minimisation to max_i |F_i| < "
           f"{params.ftol:g} (LAMMPS: `min_style cg`, `min_modify line quadratic norm max`). Per-try times "
           f"include drawing the velocities (tlsviz: `run_tries` in batches of {TRY_BATCH} as a search runs them, "
           "and the preconditioner, the inverse of the IS Hessian, once per IS); LAMMPS's include scatter/gather and the set-up of its `run` and "
           "`minimize`.\n",
           bu.table(try_headers, rows_try),
           f"\nRatio LAMMPS / tlsviz per try with the search's minimiser ({default}): **{t_l / t_t:.2f}**. "
           f"'Same minimum' = |ΔE| < 1e-7 between the two engines' end points. After the {params.n_search} "
           f"MD steps alone the two trajectories agree to 1e-6 in {md_same}/{n_total} tries"
           + (", so every differing end comes from the minimisers (different paths downhill from the same "
              "point), not from the chaotic MD.\n" if md_same == n_total else
              "; the MD is chaotic, so round-off differences grow and can send the engines to different "
              "minima, and the minimisers can also differ.\n")]
    if sids:
        out += [f"\n### Full searches: `search_dwps(system, x_is, tries={args.search_tries}, seed={args.seed})`\n",
                "tries s = `stats['seconds_tries']`; saddles s = `stats['seconds']` − tries s (ridge saddles, "
                "Hessian checks, descent paths, for every distinct accepted minimum = pair); total = wall time "
                "of the call. s/pair and s/DWP = saddle-stage seconds per pair examined and per verified DWP. "
                f"Target: {args.target:g} s per IS (tries + saddles).\n",
                bu.table(["IS", "E_IS", "tries s", "saddles s", "total s", "pairs", "DWPs", "s/pair", "s/DWP",
                          f"≤ {args.target:g} s"], rows_s)]
        if reasons:
            out.append("\nDismissed pairs: " + "; ".join(f"{v} × {k}" for k, v in sorted(
                reasons.items(), key=lambda kv: -kv[1])) + ".\n")
        m = len(sids)
        mean_total = tot["wall"] / m
        out.append(f"\nThe {args.target:g} s target for a full search of one IS is "
                   + ("**met**" if tot["met"] == m else f"**not met** ({tot['met']}/{m} IS within it)")
                   + f": mean {mean_total:.2f} s per IS ({tot['tries'] / m:.2f} s tries = "
                   f"{1e3 * tot['tries'] / (m * args.search_tries):.1f} ms per try, "
                   f"{tot['saddles'] / m:.2f} s saddles).\n")
    out.append(f"\nTotal run time of the benchmark: {time.perf_counter() - t_start:.0f} s.\n")
    text = "\n".join(out)
    print()
    print(text)
    if not args.no_write:
        path = bu.write_section("bench_search", text)
        print(f"(written to {path})")


if __name__ == "__main__":
    main()
