"""Exported files read back by other tools: extended XYZ by ASE, LAMMPS data by a plain parser."""

import numpy as np
import pytest

from tlsviz.demo import demo_catalog
from tlsviz.export import SPECIES_SYMBOLS, export_catalog, write_extxyz

import ase.io as ase_io  # noqa: E402  (the test extra has ase)


@pytest.fixture(scope="module")
def demo():
    return demo_catalog()


def test_extxyz_path_reads_back_with_ase(demo, tmp_path):
    files = export_catalog(demo, tmp_path, dwp=0, fmt="xyz")
    assert len(files) == 1 and files[0].name.endswith("_path.xyz")
    frames = ase_io.read(files[0], index=":")
    path, system = demo.path(0), demo.system()
    assert len(frames) == len(path)
    types = np.asarray(system.types)
    amp = np.linalg.norm(demo.displacements(0), axis=1)
    energies = demo.path_energies(0)
    for k, atoms in enumerate(frames):
        np.testing.assert_allclose(atoms.get_positions(), path[k], atol=1e-9)
        np.testing.assert_allclose(atoms.cell.array, np.eye(3) * system.box, atol=1e-9)
        assert atoms.pbc.all()
        # A/B from the integer column, and from the chemical symbols of the documented mapping
        assert np.array_equal(atoms.arrays["ka_type"], types)
        assert atoms.get_chemical_symbols() == [SPECIES_SYMBOLS[t] for t in types]
        assert atoms.info["frame"] == k and atoms.info["ka_species"] == "A=Ni B=P"
        np.testing.assert_allclose(atoms.arrays["displacement"], amp, atol=1e-9)
        assert atoms.get_potential_energy() == pytest.approx(energies[k], abs=1e-11)
    assert SPECIES_SYMBOLS == ("Ni", "P")


def test_extxyz_without_optional_columns_and_bad_input(tmp_path):
    x = np.random.default_rng(0).uniform(0, 4, (2, 5, 3))
    types = np.array([0, 0, 0, 1, 1])
    write_extxyz(tmp_path / "a.xyz", x, types, 4.0)
    frames = ase_io.read(tmp_path / "a.xyz", index=":")
    assert len(frames) == 2 and "displacement" not in frames[0].arrays
    np.testing.assert_allclose(frames[1].get_positions(), x[1], atol=1e-9)
    assert np.array_equal(np.array(["A", "B"])[frames[0].arrays["ka_type"]], list("AAABB"))
    with pytest.raises(ValueError, match=r"frames must have shape \(F, 5, 3\)"):
        write_extxyz(tmp_path / "b.xyz", x[:, :4], types, 4.0)
    with pytest.raises(ValueError, match="types must be 0"):
        write_extxyz(tmp_path / "b.xyz", x, types + 1, 4.0)
    with pytest.raises(ValueError, match="one value per frame"):
        write_extxyz(tmp_path / "b.xyz", x, types, 4.0, energies=[1.0])
