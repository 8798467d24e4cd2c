"""Hand-made catalogues for the analysis tests: chosen displacements, energies and positions.

``make_catalog(root, structures)`` writes a catalogue directory in the format of
docs/catalog.md (campaign.json + one part per IS via tlsviz.catalog.write_part) whose
per-DWP quantities are computed here, independently of tlsviz.search, from the chosen
displacement vectors.
"""

from dataclasses import asdict
import json

import numpy as np
import pandas as pd

import tlsviz
from tlsviz.campaign import MINIMA_COLUMNS
from tlsviz.catalog import write_part
from tlsviz.search import DISMISSED_COLUMNS, DWP_COLUMNS, SearchParams

FRAMES = 3


def disp(n_particles, moves):
    """(N, 3) displacements: {particle: vector or length along x}."""
    d = np.zeros((n_particles, 3))
    for i, v in moves.items():
        d[i] = v if np.ndim(v) else (v, 0.0, 0.0)
    return d


def lattice(n_particles, box, seed=0):
    """Positions spread over the box (a jittered simple-cubic lattice)."""
    k = int(np.ceil(n_particles ** (1 / 3)))
    g = np.stack(np.meshgrid(*[np.arange(k)] * 3, indexing="ij"), -1).reshape(-1, 3)[:n_particles]
    rng = np.random.default_rng(seed)
    return (g + 0.5) * box / k + rng.uniform(-0.05, 0.05, (n_particles, 3))


def make_catalog(root, structures, n=65, copies=1, tries=100, frames=FRAMES):
    """structures: one dict per IS: ``energy``, optional ``positions`` (N, 3), ``dwps``: list of
    dicts with ``disp`` (N, 3) and optional ``asymmetry`` (0.1), ``barrier`` (0.2), ``count`` (1),
    ``d_mwrp`` (default 1.05 d_mw). ``frames`` (odd): points of each straight IS → minimum path,
    the saddle (the midpoint) in the middle."""
    system = tlsviz.KobAndersen(n=n, copies=copies)
    npart = system.n_particles
    masses = system.masses
    meta = dict(format="tlsviz-catalog", schema_version=1, tlsviz_version=tlsviz.__version__, n=n, copies=copies,
                minima=len(structures), tries=tries, t_equil=0.5, burn_in=20.0, seed=0,
                search=asdict(SearchParams()))
    root.mkdir(parents=True, exist_ok=True)
    (root / "campaign.json").write_text(json.dumps(meta))
    for is_id, s in enumerate(structures):
        x = np.asarray(s.get("positions", lattice(npart, system.box, is_id)), float)
        e = float(s["energy"])
        rows, arrays = [], dict(minimum=[], saddle=[], path=[], path_energy=[], path_arclength=[], displacements=[])
        for k, w in enumerate(s.get("dwps", [])):
            dv = np.asarray(w["disp"], float)
            a = np.linalg.norm(dv, axis=1)
            a2 = a ** 2
            central = int(np.argmax(a))
            asym, barrier = w.get("asymmetry", 0.1), w.get("barrier", 0.2)
            d, d_mw = np.sqrt(a2.sum()), np.sqrt((masses * a2).sum())
            rows.append(dict(
                is_id=is_id, dwp_id=k, is_energy=e, min_energy=e + asym, saddle_energy=e + asym + barrier,
                asymmetry=asym, barrier=barrier, barrier_from_is=asym + barrier, d=d, d_mw=d_mw, d_rp=1.05 * d,
                d_mwrp=w.get("d_mwrp", 1.05 * d_mw), central_index=central, central_type="AB"[system.types[central]],
                central_displacement=a[central], pr1=a2.max() / a2.sum(), pr2=a2.sum() / a2.max(),
                pr3=a.sum() / a.max(), pr4=a2.sum() ** 2 / (a2 ** 2).sum(), lambda_neg=-1.0,
                count=w.get("count", 1), tries=tries, first_try=k, copy=int(system.group[central])))
            arrays["minimum"].append(x + dv)
            arrays["saddle"].append(x + dv / 2)
            t = np.linspace(0.0, 1.0, frames)
            arrays["path"].append(x + t[:, None, None] * dv)
            arrays["path_energy"].append(e + asym * t + (barrier + asym / 2) * np.sin(np.pi * t) ** 2)
            arrays["path_arclength"].append(d_mw * t)
            arrays["displacements"].append(dv)
        k = len(rows)
        shapes = dict(minimum=(npart, 3), saddle=(npart, 3), path=(frames, npart, 3), path_energy=(frames,),
                      path_arclength=(frames,), displacements=(npart, 3))
        arrays = {key: np.array(v, float) if k else np.zeros((0, *shapes[key])) for key, v in arrays.items()}
        arrays.update(is_positions=x, dismissed_minimum=np.zeros((0, npart, 3)))
        dwps = pd.DataFrame(rows, columns=DWP_COLUMNS).astype(
            {"is_id": "int64", "dwp_id": "int64", "central_index": "int64", "count": "int64", "tries": "int64",
             "first_try": "int64", "copy": "int64"})
        minima = pd.DataFrame([dict(is_id=is_id, energy=e, grad_norm=1e-11, quench_evals=100, tries=tries,
                                    converged=tries, back_to_is=0, outside_windows=0, accepted=k, distinct=k,
                                    n_dwps=k, n_dismissed=0)], columns=MINIMA_COLUMNS)
        dismissed = pd.DataFrame(columns=DISMISSED_COLUMNS)
        write_part(root, is_id, dict(minima=minima, dwps=dwps, dismissed=dismissed), arrays)
    return tlsviz.Catalog.open(root)
