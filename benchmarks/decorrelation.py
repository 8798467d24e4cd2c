"""How far apart must two inherent structures of one MD chain be to be different minima?

    nice python benchmarks/decorrelation.py [--n 65] [--t 0.5] [--chains 4] [--length 10000]
                                            [--every 10] [--write]
    nice python benchmarks/decorrelation.py --from-start 16 [--horizon 4000] [--fine] [--jobs 2] [--write]
    nice python benchmarks/decorrelation.py --exchange 0.5,0.59,0.7,0.83 [--chains 4] [--write]

Each chain: a random start equilibrated for ``--burn-in`` τ (default IS_BURN_IN) at T (``KobAndersen.equilibrate``),
then a snapshot every ``--every`` τ for ``--length`` τ, each quenched to max|F| < 1e-10 (the
quench of ``inherent_structures``). For every lag Δt (a multiple of ``--every``) and every pair
of snapshots Δt apart on one chain, the two IS are compared with the identity of the search,
:func:`tlsviz.search.same_minimum` (energy within 1e-7 ε, then distance below 1e-4 σ up to a
permutation of identical particles and a translation). Printed per lag: the pairs, the
fraction that are the same minimum (with its standard error from the spread between chains),
the number of those that are the same only after relabelling particles, and the correlation
of the IS energies.

``--from-start K`` measures instead how long the burn-in of a random start must be (what each
campaign IS gets): K random starts made as ``KobAndersen.equilibrate`` makes them (random
positions, loose quench, Maxwell velocities), a snapshot quenched every ``--every`` τ (default
50 here) from t = 0 to ``--horizon`` τ; printed is the mean IS energy per particle over the
starts in windows of t, against the mean over the second half of the horizon.

Every chain table also gives the integrated autocorrelation time of the IS energy,
τ_int = Δ (1 + 2 Σ_k C_E(kΔ)) with Sokal's window (the sum stops at the first k ≥ 5 τ_int / Δ):
the MD time per statistically independent IS of a chain sampled every Δ ≤ τ_int.

``--exchange T1,T2,...`` (T1 = ``--t``): the chains are replica-exchange (parallel tempering)
MD instead (Sugita & Okamoto, Chem. Phys. Lett. 314, 141 (1999)): one replica per temperature,
each equilibrated from its own random start, NVT under the thermostat between exchange attempts
every ``--exchange-every`` τ between neighbouring temperatures (odd pairs, then even pairs in
turn), accepted with probability min(1, exp[(1/T_i − 1/T_j)(U_i − U_j)]) and the velocities
rescaled by √(T_new / T_old). The snapshots are those of the replica at T1. The MD per
independent IS at T1 is then (number of replicas) × τ_int: the question is whether the
exchanges shorten τ_int by more than the replicas cost.

``--write`` replaces the ``decorrelation`` (``decorrelation-burn-in``, with ``--fine`` ``decorrelation-burn-in-fine``, a ``-H`` suffix
for ``--horizon H`` other than 4000; plain chains with another ``--burn-in B``: ``decorrelation-chain-burn-in-B``; ``decorrelation-exchange-R`` for R replicas, with a ``-burn-in-B`` suffix likewise) section of benchmarks/RESULTS.md. Single thread unless ``--jobs``.
The default spacing of :meth:`KobAndersen.inherent_structures` (``IS_SPACING``) was chosen
from this table (docs/engine.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _benchutil import command_line, machine_info, set_single_thread, table, write_section  # noqa: E402

set_single_thread()

import numpy as np  # noqa: E402

import tlsviz  # noqa: E402
from tlsviz.search import same_minimum  # noqa: E402
from tlsviz.system import DT, IS_BURN_IN, _stream_seed  # noqa: E402

LAGS = (10, 20, 50, 100, 200, 300, 500, 700, 1000, 1500, 2000, 3000, 5000)


def chain(system, seed, t, length, every, burn_in=IS_BURN_IN):
    """Quenched snapshots every `every` τ along one chain after `burn_in` τ: (positions, energies)."""
    x, v = system.equilibrate(seed, t, burn_in)
    k = int(round(length / every))
    xs, es = np.empty((k + 1, system.n_particles, 3)), np.empty(k + 1)
    for j in range(k + 1):
        if j > 0:
            x, v = system.nvt(x, v, int(round(every / DT)), t, _stream_seed(seed, 10_000 + j))
        q = system.quench(x)
        xs[j], es[j] = q.positions, q.energy
    return xs, es


def exchange_chain(system, seed, temps, length, every, exchange_every, burn_in=IS_BURN_IN):
    """Quenched snapshots every `every` τ of the replica at temps[0] of a replica-exchange run
    (module docstring): (positions, energies, accepted, attempted per neighbouring pair)."""
    r_count = len(temps)
    states = [system.equilibrate(_stream_seed(seed, 40_000 + r), t_r, burn_in) for r, t_r in enumerate(temps)]
    rng = np.random.default_rng(_stream_seed(seed, 30_000))
    steps = int(round(exchange_every / DT))
    per_snapshot = int(round(every / exchange_every))
    k = int(round(length / every))
    xs, es = np.empty((k + 1, system.n_particles, 3)), np.empty(k + 1)
    accepted, attempted = np.zeros(r_count - 1, dtype=int), np.zeros(r_count - 1, dtype=int)
    q = system.quench(states[0][0])
    xs[0], es[0] = q.positions, q.energy
    attempt = 0
    for j in range(1, k + 1):
        for _ in range(per_snapshot):
            attempt += 1
            states = [system.nvt(x, v, steps, t_r, _stream_seed(seed, 50_000 + attempt * r_count + r))
                      for r, ((x, v), t_r) in enumerate(zip(states, temps))]
            u = [system.energy(x) for x, _ in states]
            for r in range(attempt % 2, r_count - 1, 2):
                attempted[r] += 1
                arg = (1.0 / temps[r] - 1.0 / temps[r + 1]) * (u[r] - u[r + 1])
                if arg >= 0.0 or rng.random() < np.exp(arg):
                    accepted[r] += 1
                    (xa, va), (xb, vb) = states[r], states[r + 1]
                    states[r] = (xb, vb * np.sqrt(temps[r] / temps[r + 1]))
                    states[r + 1] = (xa, va * np.sqrt(temps[r + 1] / temps[r]))
                    u[r], u[r + 1] = u[r + 1], u[r]
        q = system.quench(states[0][0])
        xs[j], es[j] = q.positions, q.energy
    return xs, es, accepted, attempted


def integrated_time(series, every):
    """(τ_int, its jackknife standard error over the chains, whether the window closed) of the
    IS energies of equally long chains (module docstring): the mean and variance pooled over
    the chains, the sum stopped at the first lag k ≥ 5 τ_int / Δ (τ_int = 1 + 2 Σ C here, twice
    Sokal's τ, so this is his window with c = 10)."""

    def one(chains):
        e_all = np.concatenate(chains)
        mu, var = e_all.mean(), e_all.var()
        tau = 1.0
        for k in range(1, len(chains[0]) // 2):
            c = np.mean(np.concatenate([(es[:-k] - mu) * (es[k:] - mu) for es in chains])) / var
            tau += 2.0 * c
            if k >= 5.0 * tau:
                return tau * every, True
        return tau * every, False

    tau, closed = one(series)
    if len(series) < 2:
        return tau, float("nan"), closed
    leave_one_out = np.array([one(series[:i] + series[i + 1:])[0] for i in range(len(series))])
    m = len(series)
    err = np.sqrt((m - 1) / m * np.sum((leave_one_out - leave_one_out.mean()) ** 2))
    return tau, err, closed


def compare(system, xs, es, lag_steps):
    """(pairs, same, same only by relabelling) over all pairs lag_steps apart."""
    same = relabelled = 0
    pairs = len(es) - lag_steps
    for i in range(pairs):
        j = i + lag_steps
        if abs(es[i] - es[j]) > 1e-7:
            continue
        d = system.distance(xs[i], xs[j])
        if d < 1e-4:
            same += 1
        elif same_minimum(system, xs[i], es[i], xs[j], es[j], d=d):
            same += 1
            relabelled += 1
    return pairs, same, relabelled


WINDOWS = ((0, 100), (100, 300), (300, 600), (600, 1000), (1000, 1500), (1500, 2000), (2000, 3000),
           (3000, 4000), (4000, 6000), (6000, 8000), (8000, 10_000), (10_000, 15_000), (15_000, 20_000))
#: With ``--fine``: one window per snapshot (every 50 τ) where a burn-in could end, for the
#: excess energy of an IS taken exactly there.
FINE_WINDOWS = ((0, 50), (50, 100), (100, 150), (150, 200), (200, 250), (250, 300), (300, 350), (350, 400),
                (400, 450), (450, 500), (500, 550), (550, 600), (600, 800), (800, 1000), (1000, 1500),
                (1500, 2000), (2000, 3000), (3000, 4000))


def _from_start_job(job):
    n, seed, t, horizon, every = job
    return from_start(tlsviz.KobAndersen(n=n), seed, t, horizon, every)


def from_start(system, seed, t, horizon, every):
    """IS energies every `every` τ from a fresh random start (t = 0 to horizon)."""
    x = system.quench(system.random_positions(seed), ftol=1e-3).positions
    v = system.maxwell_velocities(t, seed)
    k = int(round(horizon / every))
    es = np.empty(k + 1)
    for j in range(k + 1):
        if j > 0:
            x, v = system.nvt(x, v, int(round(every / DT)), t, _stream_seed(seed, 20_000 + j))
        es[j] = system.quench(x).energy
    return es / system.n_particles


def burn_in_scan(system, args):
    every = args.every if args.every != 10.0 else 50.0
    t0 = time.perf_counter()
    jobs = [(args.n, args.seed + c, args.t, args.horizon, every) for c in range(args.from_start)]
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(args.jobs) as pool:
            runs = np.array(list(pool.map(_from_start_job, jobs, chunksize=4)))
    else:
        runs = np.array([_from_start_job(job) for job in jobs])
    times = np.arange(runs.shape[1]) * every
    ref = runs[:, times >= args.horizon / 2].mean(axis=1)
    rows = []
    for a, b in (FINE_WINDOWS if args.fine else WINDOWS):
        sel = (times >= a) & (times < b)
        if not sel.any() or b > args.horizon + 1e-9:
            continue
        m = runs[:, sel].mean(axis=1)
        dm = m - ref
        rows.append([f"{a:g}–{b:g}", f"{m.mean():.4f}", f"{m.std(ddof=1) / np.sqrt(len(m)):.4f}",
                     f"{dm.mean():+.4f}", f"{dm.std(ddof=1) / np.sqrt(len(dm)):.4f}"])
        print(f"t in [{a:g}, {b:g}) τ: E_IS/N = {m.mean():.4f}, minus the late mean: {dm.mean():+.4f} "
              f"± {dm.std(ddof=1) / np.sqrt(len(dm)):.4f}", flush=True)
    seconds = time.perf_counter() - t0
    print(f"{seconds:.0f} s")
    if args.write:
        info = machine_info()
        body = (
            "## Burn-in from a random start (`decorrelation.py --from-start`)\n\n"
            f"Machine: {info['cpu']} ({info['cores']}); {info['date']}; tlsviz {info['tlsviz']}; "
            f"{seconds:.0f} s on a shared machine (run under `nice`).\n\n"
            f"Command: `nice {command_line()}`\n\n"
            f"N = {args.n}, T = {args.t:g}: {args.from_start} random starts (random positions, loose quench, "
            f"Maxwell velocities, as `KobAndersen.equilibrate`), a snapshot every {every:g} τ from t = 0 to "
            f"{args.horizon:g} τ, quenched. Per window of t: the mean IS energy per particle over the starts "
            f"(± standard error over the starts) and its difference from the same start's mean over "
            f"t ≥ {args.horizon / 2:g} τ (±: standard error of the paired difference).\n\n"
            + table(["t (τ)", "E_IS / N", "±", "minus late mean", "±"], rows) + "\n")
        name = "decorrelation-burn-in" + ("-fine" if args.fine else "") + (
            f"-{args.horizon:g}" if args.horizon != 4000.0 else "")
        print(f"wrote {write_section(name, body)}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=65)
    p.add_argument("--t", type=float, default=0.5)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--length", type=float, default=10_000.0, help="τ of sampling per chain")
    p.add_argument("--every", type=float, default=10.0, help="τ between snapshots")
    p.add_argument("--seed", type=int, default=100)
    p.add_argument("--burn-in", type=float, default=IS_BURN_IN,
                   help="τ of burn-in of each chain (or replica) before its first snapshot")
    p.add_argument("--from-start", type=int, default=0, metavar="K",
                   help="measure the burn-in instead, from K random starts")
    p.add_argument("--horizon", type=float, default=4000.0, help="τ followed from each random start")
    p.add_argument("--fine", action="store_true", help="--from-start: one window per snapshot up to 600 τ")
    p.add_argument("--jobs", type=int, default=1, help="--from-start: worker processes (same numbers)")
    p.add_argument("--exchange", default="", metavar="T1,T2,...",
                   help="replica-exchange chains at these temperatures (T1 = --t) instead of plain ones")
    p.add_argument("--exchange-every", type=float, default=0.5, help="τ between exchange attempts")
    p.add_argument("--write", action="store_true", help="replace the section of benchmarks/RESULTS.md")
    args = p.parse_args()
    temps = [float(t) for t in args.exchange.split(",")] if args.exchange else [args.t]
    if args.jobs > 1 and not args.from_start:
        p.error("--jobs is for --from-start only (chains run one after the other)")
    if abs(temps[0] - args.t) > 1e-12 or sorted(temps) != temps or len(set(temps)) != len(temps):
        p.error(f"--exchange must list increasing temperatures starting at --t = {args.t:g}, got {args.exchange!r}")
    if args.exchange and abs(args.every / args.exchange_every - round(args.every / args.exchange_every)) > 1e-9:
        p.error("--every must be a multiple of --exchange-every")

    system = tlsviz.KobAndersen(n=args.n)
    if args.from_start:
        return burn_in_scan(system, args)
    t0 = time.perf_counter()
    chains = []
    accepted, attempted = np.zeros(len(temps) - 1, dtype=int), np.zeros(len(temps) - 1, dtype=int)
    for c in range(args.chains):
        tc = time.perf_counter()
        if len(temps) > 1:
            xs, es, acc, att = exchange_chain(system, args.seed + c, temps, args.length, args.every,
                                              args.exchange_every, args.burn_in)
            accepted += acc
            attempted += att
        else:
            xs, es = chain(system, args.seed + c, args.t, args.length, args.every, args.burn_in)
        chains.append((xs, es))
        n_distinct = len(np.unique(np.round(es, 7)))
        print(f"chain {c}: {len(es)} IS, {n_distinct} distinct energies ({time.perf_counter() - tc:.0f} s)",
              flush=True)
    rows = []
    for lag in LAGS:
        k = int(round(lag / args.every))
        if k < 1 or k >= len(chains[0][1]):
            continue
        per = [compare(system, xs, es, k) for xs, es in chains]
        pairs = sum(p_ for p_, _, _ in per)
        same = sum(s for _, s, _ in per)
        rel = sum(r for _, _, r in per)
        fr = np.array([s / p_ for p_, s, _ in per])
        # IS energy correlation at this lag, about the mean and variance pooled over all chains
        e_all = np.concatenate([es for _, es in chains])
        mu, var = e_all.mean(), e_all.var()
        cs = np.array([np.mean((es[:-k] - mu) * (es[k:] - mu)) / var for _, es in chains])
        c_err = cs.std(ddof=1) / np.sqrt(len(cs)) if len(cs) > 1 else float("nan")
        err = fr.std(ddof=1) / np.sqrt(len(fr)) if len(fr) > 1 else float("nan")
        rows.append([f"{lag:g}", str(pairs), str(same), f"{same / pairs:.3f}", f"{err:.3f}", str(rel),
                     f"{cs.mean():.2f} ± {c_err:.2f}"])
        print(f"lag {lag:6g} τ: {pairs} pairs, P(same) = {same / pairs:.3f} ± {err:.3f}, "
              f"{rel} same only after relabelling, C_E = {cs.mean():.2f} ± {c_err:.2f}", flush=True)
    tau_int, tau_err, closed = integrated_time([es for _, es in chains], args.every)
    cost = len(temps) * tau_int
    summary = (f"τ_int of the IS energy: {tau_int:.0f} ± {tau_err:.0f} τ (jackknife over the chains); MD per "
               f"independent IS ({len(temps)} replica{'s' if len(temps) > 1 else ''} × τ_int): "
               f"{cost:.0f} ± {len(temps) * tau_err:.0f} τ."
               + ("" if closed else " The window did not close within half a chain: longer chains needed."))
    if len(temps) > 1:
        summary += " Exchange acceptance per neighbouring pair: " + ", ".join(
            f"{temps[r]:g}–{temps[r + 1]:g} {accepted[r] / attempted[r]:.2f}" for r in range(len(temps) - 1)) + "."
    print(summary)
    seconds = time.perf_counter() - t0
    print(f"{seconds:.0f} s")
    if args.write and len(temps) > 1:
        info = machine_info()
        body = (
            "## Decorrelation along replica-exchange chains (`decorrelation.py --exchange`)\n\n"
            f"Machine: {info['cpu']} ({info['cores']}); {info['date']}; tlsviz {info['tlsviz']}; "
            f"{seconds:.0f} s (run under `nice`).\n\n"
            f"Command: `nice {command_line()}`\n\n"
            f"N = {args.n}: {args.chains} chains of {len(temps)} replicas at T = "
            f"{', '.join(f'{t:g}' for t in temps)}, each replica {args.burn_in:g} τ of burn-in from its own "
            f"random start, then exchanges attempted every {args.exchange_every:g} τ; a snapshot of the "
            f"T = {temps[0]:g} replica every {args.every:g} τ for {args.length:g} τ, quenched. Columns as in "
            "\"Decorrelation of inherent structures along one chain\".\n\n"
            + table(["Δt (τ)", "pairs", "same", "P(same)", "± (chains)", "relabelled", "C_E"], rows)
            + "\n\n" + summary + "\n")
        name = f"decorrelation-exchange-{len(temps)}" + (
            f"-burn-in-{args.burn_in:g}" if args.burn_in != IS_BURN_IN else "")
        print(f"wrote {write_section(name, body)}")
    elif args.write:
        info = machine_info()
        body = (
            "## Decorrelation of inherent structures along one chain (`decorrelation.py`)\n\n"
            f"Machine: {info['cpu']} ({info['cores']}); {info['date']}; Python {info['python']}, "
            f"numpy {info['numpy']}, numba {info['numba']}, tlsviz {info['tlsviz']}; {seconds:.0f} s "
            "on a shared machine (run under `nice`).\n\n"
            f"Command: `nice {command_line()}`\n\n"
            f"N = {args.n}, T = {args.t:g}, ρ = 1.2: {args.chains} chains, each {args.burn_in:g} τ of burn-in "
            f"then a snapshot every {args.every:g} τ for {args.length:g} τ, quenched to max|F| < 1e-10. "
            "P(same): the fraction of the pairs of IS Δt apart on one chain that are the same minimum "
            "(`tlsviz.search.same_minimum`: energy within 1e-7, distance below 1e-4 σ up to a "
            "permutation of identical particles and a translation); ± the standard error over the "
            "chains (the pairs of one chain are correlated). Relabelled: pairs that are the same "
            "minimum only after a permutation. C_E: the correlation of the IS energies Δt apart, "
            "⟨(E(t) − Ē)(E(t+Δt) − Ē)⟩ / var E with the mean and variance pooled over all chains, ± the "
            "standard error over the chains.\n\n"
            + table(["Δt (τ)", "pairs", "same", "P(same)", "± (chains)", "relabelled", "C_E"], rows)
            + "\n\n" + summary + "\n")
        name = "decorrelation" + (f"-chain-burn-in-{args.burn_in:g}" if args.burn_in != IS_BURN_IN else "")
        print(f"wrote {write_section(name, body)}")


if __name__ == "__main__":
    main()
