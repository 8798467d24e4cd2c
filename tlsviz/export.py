"""Export DWPs for other tools: extended XYZ trajectories (OVITO, ASE) and LAMMPS data files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .engine.params import KA_MASSES


def write_extxyz(path: Path, frames: np.ndarray, types: np.ndarray, box: float,
                 energies=None, displacement=None) -> Path:
    """Write frames (F, N, 3) as a multi-frame extended XYZ file.

    Per particle: species (A/B), position and, when given, the displacement magnitude |d_i|
    (IS → second minimum), the quantity the explorer colours by.
    """
    frames = np.asarray(frames, dtype=float)
    if frames.ndim == 2:
        frames = frames[None]
    species = np.array(["A", "B"])[np.asarray(types)]
    props = "species:S:1:pos:R:3" + (":displacement:R:1" if displacement is not None else "")
    lattice = f'Lattice="{box:.10f} 0.0 0.0 0.0 {box:.10f} 0.0 0.0 0.0 {box:.10f}" pbc="T T T"'
    with open(path, "w") as fh:
        for k, x in enumerate(frames):
            extra = f" energy={energies[k]:.12f}" if energies is not None else ""
            fh.write(f"{len(x)}\n{lattice} Properties={props} frame={k}{extra}\n")
            for i in range(len(x)):
                line = f"{species[i]} {x[i, 0]:.10f} {x[i, 1]:.10f} {x[i, 2]:.10f}"
                if displacement is not None:
                    line += f" {displacement[i]:.10f}"
                fh.write(line + "\n")
    return Path(path)


def write_lammps_data(path: Path, x: np.ndarray, types: np.ndarray, box: float, title: str = "tlsviz") -> Path:
    """A LAMMPS data file (atom_style atomic), positions folded into [0, L) with image flags."""
    x = np.asarray(x, dtype=float)
    image = np.floor(x / box).astype(int)
    folded = x - image * box
    lines = [f"{title}", "", f"{len(x)} atoms", "2 atom types", "",
             f"0.0 {box:.12f} xlo xhi", f"0.0 {box:.12f} ylo yhi", f"0.0 {box:.12f} zlo zhi", "",
             "Masses", "", f"1 {KA_MASSES[0]}", f"2 {KA_MASSES[1]}", "", "Atoms # atomic", ""]
    for i in range(len(x)):
        lines.append(f"{i + 1} {int(types[i]) + 1} {folded[i, 0]:.12f} {folded[i, 1]:.12f} "
                     f"{folded[i, 2]:.12f} {image[i, 0]} {image[i, 1]} {image[i, 2]}")
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


def export_catalog(cat, out: Path, dwp: int | None = None, fmt: str = "both") -> list[Path]:
    """Write DWP ``dwp`` (a row of ``cat.dwps``) or every DWP; returns the files written."""
    if fmt not in ("xyz", "lammps", "both"):
        raise ValueError(f"fmt must be 'xyz', 'lammps' or 'both', got {fmt!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    system = cat.system()
    rows = range(len(cat.dwps)) if dwp is None else [dwp]
    if dwp is not None and not 0 <= dwp < len(cat.dwps):
        raise ValueError(f"--dwp {dwp} is out of range: the catalogue has {len(cat.dwps)} DWPs (rows 0..{len(cat.dwps) - 1})")
    written = []
    for i in rows:
        row = cat.dwps.iloc[i]
        stem = out / f"dwp_{i:05d}_is{int(row.is_id)}"
        amp = np.linalg.norm(cat.displacements(i), axis=1)
        if fmt in ("xyz", "both"):
            written.append(write_extxyz(stem.with_name(stem.name + "_path.xyz"), cat.path(i), system.types,
                                        system.box, cat.path_energies(i), amp))
        if fmt in ("lammps", "both"):
            for kind, x in (("is", cat.positions("is", int(row.is_id))), ("saddle", cat.positions("saddle", i)),
                            ("minimum", cat.positions("minimum", i))):
                written.append(write_lammps_data(stem.with_name(f"{stem.name}_{kind}.data"), x, system.types,
                                                 system.box, f"tlsviz DWP {i} {kind}"))
    return written
