"""Measure the α-relaxation time τ_α of the Kob–Andersen model at T_equil (docs/method.md §2).

    python benchmarks/relaxation.py [--n 65] [--t 0.5] [--seeds 4] [--duration 2000]

Prints τ_α per seed and its mean: the default spacing of inherent-structure
snapshots (tlsviz.system.IS_SPACING) is ten times the mean at T = 0.5.
"""

import argparse
import time

import numpy as np

import tlsviz
from tlsviz.engine.relaxation import relaxation_time

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--n", type=int, default=65)
p.add_argument("--t", type=float, default=0.5)
p.add_argument("--seeds", type=int, default=4)
p.add_argument("--duration", type=float, default=2000.0)
args = p.parse_args()

system = tlsviz.KobAndersen(n=args.n)
taus = []
for seed in range(args.seeds):
    t0 = time.perf_counter()
    tau, lags, fs = relaxation_time(system, args.t, seed=seed, duration=args.duration)
    taus.append(tau)
    k = [np.searchsorted(lags, t) for t in (1, 10, 50, 100, 200)]
    print(f"seed {seed}: tau_alpha = {tau:.1f}  F_s(1,10,50,100,200) = "
          + " ".join(f"{fs[i]:.3f}" for i in k if i < len(fs)) + f"  ({time.perf_counter() - t0:.1f} s)")
print(f"N = {args.n}, T = {args.t}: tau_alpha = {np.mean(taus):.1f} +- {np.std(taus) / np.sqrt(len(taus)):.1f}")
