"""The compiled loop of energy + force evaluations that the engine benchmarks time
(bench_engine.py against LAMMPS's ``run n``, bench_clusters.py against earlier pair loops).
Import it after setting ``NUMBA_NUM_THREADS``: it imports numba."""

from numba import njit

from tlsviz.engine.potential import _energy_forces_nl


@njit(cache=False)
def ef_loop(x, f, model, nl, reps, pool=None):
    """reps evaluations over the Verlet list nl (on the thread pool ``pool``, None: one thread),
    the energy at the last only (as LAMMPS's `run n` tallies it); returns that energy."""
    for _ in range(reps - 1):
        _energy_forces_nl(x, f, model, nl, False, pool)
    return _energy_forces_nl(x, f, model, nl, True, pool)
