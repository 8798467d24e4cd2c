from pathlib import Path

import numpy as np
import pytest

import tlsviz

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def lammps_ref():
    """Energies and forces computed by LAMMPS (see tests/data/README.md): N = 65, 130, 260 and
    2000 (lammps-reference.npz) and N = 8000 (lammps-reference-8000.npz), one mapping."""
    with np.load(DATA / "lammps-reference.npz") as small, np.load(DATA / "lammps-reference-8000.npz") as large:
        return {**{k: small[k] for k in small.files}, **{k: large[k] for k in large.files}}


@pytest.fixture(scope="session")
def certified():
    """13 certified N = 65 saddles (LAMMPS + ASE CI-NEB), see tests/data/README.md."""
    return np.load(DATA / "certified-saddles.npz")


@pytest.fixture(scope="session")
def ka65():
    return tlsviz.KobAndersen(n=65)


@pytest.fixture(scope="session")
def is65(ka65, lammps_ref):
    """An N = 65 inherent structure quenched by tlsviz from the LAMMPS T = 0.5 snapshot."""
    q = ka65.quench(lammps_ref["n65_snapshot_positions"])
    assert q.converged
    return q
