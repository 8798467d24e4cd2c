"""Certification of a large glass: the lowest 10 modes from the sparse Hessian (issue 24, part 3).

    python benchmarks/bench_modes.py [--n 8000 32000] [--k 10] [--cache DIR]

For each N a glass is made by quenching a random configuration (``KobAndersen.random_positions``,
L-BFGS to max|F| < 1e-10; kept in ``--cache`` so that a rerun skips it), then a fresh Python
process (so that its peak memory is the certification's, numba warmed up on a small system
first) times ``system.hessian(x, sparse=True)`` and ``system.modes(x, k=10, vectors=False,
sparse=True)`` (what :func:`tlsviz.search.verify.certifying_modes` runs) and reports its peak
resident memory (``ru_maxrss``: the interpreter, numpy, scipy and numba included). One run per
N: the machine is shared. Writes a section of benchmarks/RESULTS.md.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np
from _benchutil import command_line, info_block, machine_info, table, write_section

import tlsviz
from tlsviz.engine import modes


def glass(n, cache: Path):
    path = cache / f"glass-{n}.npy"
    if path.exists():
        return path, None
    s = tlsviz.KobAndersen(n=n)
    t = time.perf_counter()
    q = s.quench(s.random_positions(seed=0), method="lbfgs", max_iter=100000)
    if not q.converged:
        raise RuntimeError(f"the N = {n} quench did not converge (max|F| = {q.grad_norm:.3g})")
    np.save(path, q.positions)
    return path, time.perf_counter() - t


def certify(path, k):
    """Run in the child: time the sparse Hessian and the k lowest modes, return a dict."""
    x = np.load(path)
    n = len(x)
    small = tlsviz.KobAndersen(n=260)
    small.modes(small.random_positions(seed=0), k=3, sparse=True)  # compile / load the kernels
    s = tlsviz.KobAndersen(n=n)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    h = s.hessian(x, sparse=True)
    t_h = time.perf_counter() - t
    nnz_mb = (h.data.nbytes + h.indices.nbytes + h.indptr.nbytes) / 1e6
    del h
    t = time.perf_counter()
    m = s.modes(x, k=k, vectors=False, sparse=True)
    t_m = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return dict(n=n, t_hessian=t_h, t_modes=t_m, hessian_mb=nnz_mb, rss0_mb=rss0 / 1e3, peak_mb=rss / 1e3,
                n_negative=m.n_negative, eigenvalues=m.eigenvalues.tolist(), solver=m.solver)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, nargs="+", default=[8000, 32000])
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--cache", default=str(Path.home() / ".cache" / "tlsviz" / "bench-modes"))
    p.add_argument("--results", default=str(Path(__file__).with_name("RESULTS.md")))
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(certify(args.child, args.k)))
        return 0
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    rows = []
    load0 = os.getloadavg()
    for n in args.n:
        path, t_q = glass(n, cache)
        out = subprocess.run([sys.executable, __file__, "--child", str(path), "--k", str(args.k)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        lam = r["eigenvalues"]
        rows.append([f"{n}", f"{r['t_hessian']:.2f}", f"{r['hessian_mb']:.0f}", f"{r['t_modes']:.1f}",
                     f"{r['t_hessian'] + r['t_modes']:.1f}", f"{r['peak_mb']:.0f}", f"{r['rss0_mb']:.0f}",
                     str(r["n_negative"]), f"{lam[0]:.4f} … {lam[-1]:.4f}", r["solver"],
                     "cached" if t_q is None else f"{t_q:.0f}"])
        print(rows[-1], flush=True)
    headers = ["N", "sparse Hessian (s)", "Hessian (MB)", f"lowest {args.k} modes (s)", "certification (s)",
               "peak RSS (MB)", "RSS before (MB)", "negative", "λ₁ … λ₁₀ (ε/σ²)", "solver", "glass quench (s)"]
    body = ("## Certification of large glasses: the lowest modes (`bench_modes.py`)\n\n"
            + info_block(machine_info(), command_line())
            + "\nThe machine has **2 shared vCPUs** (other jobs ran at the same time), one run per N; load average "
            f"(1, 5, 15 min) at the start {tuple(round(v, 2) for v in load0)} and at the end "
            f"{tuple(round(v, 2) for v in os.getloadavg())}. "
            "Glass: a random configuration quenched by L-BFGS to max|F| < 1e-10. Certification = the sparse "
            f"Hessian plus its {args.k} lowest non-translational eigenvalues (`system.modes(x, k={args.k}, "
            f"sparse=True)`: ARPACK Lanczos on a Chebyshev filter of the Hessian from "
            f"{modes.FILTER_MIN_ROWS // 3} particles on, "
            "docs/engine.md \"Sparse modes\"; the `solver` column says which ran; the filter's Hessian products "
            f"on the system's default threads, {numba.config.NUMBA_NUM_THREADS} here); peak RSS is the whole fresh "
            "process's (Python, numpy, scipy, numba and the loaded kernels are the 'before' column).\n\n"
            + table(headers, rows) + "\n")
    print(body)
    print(f"(written to {write_section('bench_modes', body, Path(args.results))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
