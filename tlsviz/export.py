"""Export DWPs for other tools: extended XYZ trajectories (OVITO, ASE) and LAMMPS data files.

Extended XYZ (:func:`write_extxyz`)
    One frame per configuration, read by ``ase.io.read(path, index=":")`` and by OVITO. ASE
    needs a chemical symbol in the species column, so the two Kob–Andersen species are written
    as the elements of the Ni80P20 mapping (docs/method.md §1): **A → Ni, B → P**
    (:data:`SPECIES_SYMBOLS`); beside it an integer column ``ka_type`` holds tlsviz's own type
    (0 = A, 1 = B, as ``system.types``), and the comment line says ``ka_species="A=Ni B=P"``.
    So A/B is recoverable in either tool without knowing the convention
    (``atoms.arrays["ka_type"]`` in ASE, the ``ka_type`` property in OVITO, which maps
    ``species`` to its Particle Type). The column is not named ``type``: OVITO maps ``type``
    and ``species`` both to Particle Type. Positions and the cell are in reduced units (σ_AA),
    **not Å** (multiply by σ_AA = 2.2 Å for the Ni80P20 mapping); a file reader that assumes Å
    (ASE's masses and neighbour lists, OVITO's default radii) sees a compressed Ni–P glass.
    The cell is the cubic periodic box (``Lattice`` and ``pbc="T T T"``); positions are
    unwrapped (as stored), which both tools accept. Per frame the comment line carries
    ``frame`` and, when known, ``energy`` (ε_AA; ASE stores it as the frame's energy).

LAMMPS data (:func:`write_lammps_data`)
    ``atom_style atomic``, atom type 1 = A, 2 = B with the masses of docs/method.md §1,
    positions folded into [0, L) with image flags (so LAMMPS and OVITO unwrap them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .engine.params import KA_MASSES

#: Chemical symbols written for the Kob–Andersen species in extended XYZ files (type 0 = A, 1 = B):
#: the Ni80P20 mapping, so that ASE, which accepts only element symbols, can read the files.
SPECIES_SYMBOLS = ("Ni", "P")


def write_extxyz(path: Path, frames: np.ndarray, types: np.ndarray, box: float,
                 energies=None, displacement=None) -> Path:
    """Write frames (F, N, 3) as a multi-frame extended XYZ file that ASE and OVITO read.

    Per particle: the species as a chemical symbol (A → Ni, B → P, :data:`SPECIES_SYMBOLS`),
    the position (σ_AA), the integer ``ka_type`` (0 = A, 1 = B) and, when ``displacement`` is
    given, its magnitude |d_i| (σ_AA, IS → second minimum, the quantity the explorer colours
    by). Per frame: the cubic periodic cell of edge ``box``, ``frame`` (0-based) and, when
    ``energies`` (F,) is given, ``energy`` (ε_AA). See the module docstring for why.
    """
    frames = np.asarray(frames, dtype=float)
    if frames.ndim == 2:
        frames = frames[None]
    types = np.asarray(types)
    if frames.ndim != 3 or frames.shape[2] != 3 or frames.shape[1] != len(types):
        raise ValueError(f"frames must have shape (F, {len(types)}, 3) to match the {len(types)} types, "
                         f"got {frames.shape}")
    if not np.isin(types, (0, 1)).all():
        raise ValueError("types must be 0 (A) or 1 (B)")
    if energies is not None and len(energies) != len(frames):
        raise ValueError(f"energies must have one value per frame ({len(frames)}), got {len(energies)}")
    species = np.array(SPECIES_SYMBOLS)[types.astype(int)]
    props = "species:S:1:pos:R:3:ka_type:I:1" + (":displacement:R:1" if displacement is not None else "")
    lattice = f'Lattice="{box:.10f} 0.0 0.0 0.0 {box:.10f} 0.0 0.0 0.0 {box:.10f}" pbc="T T T"'
    mapping = f'ka_species="A={SPECIES_SYMBOLS[0]} B={SPECIES_SYMBOLS[1]}"'
    with open(path, "w") as fh:
        for k, x in enumerate(frames):
            extra = f" energy={energies[k]:.12f}" if energies is not None else ""
            fh.write(f"{len(x)}\n{lattice} Properties={props} {mapping} frame={k}{extra}\n")
            for i in range(len(x)):
                line = f"{species[i]} {x[i, 0]:.10f} {x[i, 1]:.10f} {x[i, 2]:.10f} {int(types[i])}"
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
