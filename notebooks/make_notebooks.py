"""Writes the teaching notebooks (python notebooks/make_notebooks.py); edit here, not in the .ipynb."""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent


def save(name, cells):
    nb = new_notebook(cells=[new_markdown_cell(c[3:]) if c.startswith("md:") else new_code_cell(c.strip())
                             for c in cells])
    for k, cell in enumerate(nb.cells):  # stable ids: regenerating changes only the cells edited here
        cell.id = f"cell-{k:02d}"
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, HERE / name)


save("01-model-and-landscape.ipynb", [
    """md:# 1. The model glass and its energy landscape

Glasses at 1 K store heat and absorb sound unlike crystals. The standard explanation is a set of
**two-level systems**: a few atoms that can sit in either of two nearby arrangements, and tunnel
between them. In a computer glass such a pair of arrangements is a **double-well potential
(DWP)**: two nearby minima of the potential energy, joined by one saddle.

This notebook builds the glass former and looks at its landscape: molecular dynamics (MD),
quenches to local minima (the *inherent structures*), and their energies.

**The model** is the Kob–Andersen 80:20 mixture of two Lennard-Jones particle types A and B
(units: σ_AA for length, ε_AA for energy, m_A for mass; temperature in ε/k_B). It does not
crystallise easily, which is why it is the standard model glass.""",
    """import time
import numpy as np
import matplotlib.pyplot as plt
import tlsviz

system = tlsviz.KobAndersen(n=65)          # 52 A + 13 B particles at density 1.2
print(system, "types:", np.bincount(system.types), "masses:", set(system.masses))""",
    """md:## The pair potential
Every pair interacts with a Lennard-Jones potential, cut at r_c = 1.8 and shifted so that both
the energy and the force go to zero there ("shifted force"). A–B pairs attract most strongly:
this frustrates crystallisation.""",
    """from tlsviz.engine.params import LJParams
p = LJParams(); a, b = p.shifts
r = np.linspace(0.7, 1.9, 300)
fig, ax = plt.subplots(figsize=(5, 3.2))
for (i, j), name in {(0, 0): "A–A", (0, 1): "A–B", (1, 1): "B–B"}.items():
    s, e = p.sigma[i, j], p.epsilon[i, j]
    v = np.where(r < p.rc, 4 * e * ((s / r)**12 - (s / r)**6) + a[i, j] + b[i, j] * r, 0)
    ax.plot(r, v, label=name)
ax.set(ylim=(-2, 2), xlabel="r (σ_AA)", ylabel="V(r) (ε_AA)"); ax.legend(); ax.axhline(0, color="k", lw=0.5)""",
    """md:## Molecular dynamics
We start from random positions, remove the overlaps with a quick quench, give the particles
Maxwell–Boltzmann velocities at T = 0.5 and integrate Newton's equations with velocity Verlet
(time step 0.01). Without a thermostat (NVE) the total energy is conserved: a check that the
integrator is right.""",
    """x0 = system.quench(system.random_positions(seed=0), ftol=1e-3).positions
v0 = system.maxwell_velocities(1.0, seed=1)       # half of it will flow into potential energy
e_tot, temps = [], []
x, v = x0, v0
for block in range(100):
    x, v = system.nve(x, v, steps=100)
    e_tot.append(system.energy(x) + 0.5 * np.sum(system.masses[:, None] * v**2))
    temps.append(system.kinetic_temperature(v))
fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3))
a1.plot(np.arange(100), np.array(e_tot) / system.n_particles); a1.set(xlabel="time (τ)", ylabel="total energy per particle")
a2.plot(np.arange(100), temps); a2.set(xlabel="time (τ)", ylabel="kinetic temperature")""",
    """md:## Quenching to an inherent structure
Take a snapshot of the liquid and slide down the energy landscape (conjugate gradient) until the
forces vanish: that local minimum is the snapshot's **inherent structure (IS)**. The Hessian
(matrix of second derivatives) at a minimum has no negative eigenvalue; the three zero
eigenvalues are the global translations.""",
    """q = system.quench(x)
print(f"E_IS = {q.energy:.6f}, max|F| = {q.grad_norm:.1e} after {q.n_evals} force evaluations, converged: {q.converged}")
m = system.modes(q.positions)
print("negative modes:", m.n_negative, "  lowest vibrational eigenvalues:", np.round(m.eigenvalues[:4], 3))
print("translation 'eigenvalues' (should be 0):", np.round(m.translation_eigenvalues, 12))""",
    """md:## Inherent-structure energies
Equilibrate at T_equil = 0.5 and quench well-separated snapshots. `BURN_IN` and `SPACING` are in
units of τ; the defaults of `inherent_structures` (2000 τ apart, no repeats) make the IS
independent. Here a short run keeps the notebook quick — raise `COUNT` for a histogram.""",
    """import os
COUNT = int(os.environ.get("TLSVIZ_NB_COUNT", 12))    # knob: number of inherent structures
t0 = time.perf_counter()
ims = system.inherent_structures(COUNT, t_equil=0.5, seed=3, burn_in=200.0, spacing=200.0)
print(f"{len(ims)} IS in {time.perf_counter() - t0:.1f} s")
e = np.array([q.energy for q in ims]) / system.n_particles
fig, ax = plt.subplots(figsize=(5, 3))
ax.hist(e, bins=max(4, COUNT // 3)); ax.set(xlabel="IS energy per particle (ε)", ylabel="count")""",
    """md:Each IS is a minimum of a rugged landscape. The next notebook looks for the minima *near* one
IS — the second wells of DWPs.""",
])

save("02-one-dwp-search.ipynb", [
    """md:# 2. One DWP search, step by step

Starting from one inherent structure (IS), we look for nearby minima the way the published method
does, and then for the saddle joining each pair:

1. **tries**: give the IS random thermal velocities at T_search, run N_search MD steps, quench;
2. keep the new minimum if it is close (distance d below d_max) and not too different in energy
   (asymmetry Δ = |E_new − E_IS| below Δ_max), and count how often each distinct minimum is found;
3. **ridge method**: find the saddle between the IS and each nearby minimum;
4. **verify**: the saddle has exactly one unstable direction, and sliding down from it on both
   sides leads to exactly these two minima. Only then is the pair a DWP.""",
    """import numpy as np, matplotlib.pyplot as plt, tlsviz
from tlsviz.search import SearchParams, run_try, same_minimum

from tlsviz.demo import demo_catalog

system = tlsviz.KobAndersen(n=65)
cat = demo_catalog()
is_id = int(cat.dwps.is_id.iloc[0])           # an IS of the demo catalogue known to have a DWP
x_is = cat.positions("is", is_id)
e_is = system.energy(x_is)
print(f"IS {is_id}: E = {e_is:.5f}")""",
    """md:## Tries
Each try has its own random numbers (from the seed, the IS and the try index), so it can be
repeated exactly.""",
    """import os
TRIES = int(os.environ.get("TLSVIZ_NB_TRIES", 400))   # knob: M
params = SearchParams()                               # T_search = 0.7, N_search = 100 by default
records = []
for k in range(TRIES):
    t = run_try(system, x_is, k, seed=7, is_id=is_id, params=params)   # a TryResult
    records.append((k, t.energy - e_is, t.d, t.d_mw, t.positions))
delta = np.array([r[1] for r in records]); dmw = np.array([r[3] for r in records])
back = dmw < 1e-3
print(f"{back.mean():.0%} of the tries came back to the IS")
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.scatter(dmw[~back], np.abs(delta[~back]), s=10)
ax.axvline(params.d_max, color="r", ls="--"); ax.axhline(params.delta_max, color="r", ls="--")
ax.set(xlabel="d_mw to the IS (σ)", ylabel="Δ (ε)", title="minima found by the tries (red: windows)")""",
    """md:## Distinct minima
Many tries find the same minimum. Two minima are "the same" when energy and distance agree
within tiny tolerances — also if they differ only by swapping identical particles.""",
    """distinct = []
for k, de, d, d_mw, xq in records:
    if d_mw < 1e-3 or not (d_mw < params.d_max and abs(de) < params.delta_max):
        continue
    for m in distinct:
        if same_minimum(system, m["x"], m["e"], xq, e_is + de):
            m["count"] += 1
            break
    else:
        distinct.append(dict(x=xq, e=e_is + de, count=1, first=k, d_mw=d_mw))
for m in distinct:
    print(f"minimum first found by try {m['first']}: Δ = {m['e'] - e_is:+.4f}, d_mw = {m['d_mw']:.3f}, found {m['count']} times")""",
    """md:## The saddle: ridge method
Between the basins of the two minima runs a ridge; the saddle is its lowest point. A pair of
points straddling the ridge walks down along it (each point steps downhill, then both are pulled
back to the ridge); near the end, Newton steps land exactly on the saddle.""",
    """from tlsviz.engine.saddle import ridge_saddle, descent_path, mass_weighted_unstable_mode
from tlsviz.engine.surfaces import SystemSurface
surface = SystemSurface(system)
m = distinct[0]
x2 = x_is + (m["x"] - x_is) - system.box * np.rint((m["x"] - x_is) / system.box)   # same periodic images
res = ridge_saddle(surface, x_is.ravel(), x2.ravel())
xs = res.positions.reshape(-1, 3)
modes = system.modes(xs)
print(f"converged: {res.converged}, {res.n_evals} force evaluations, {res.n_iter} ridge steps")
print(f"barrier from the IS: {res.energy - e_is:.4f} ε, negative modes at the saddle: {modes.n_negative}")""",
    """md:## Verification
Slide down from the saddle along ± the unstable mode (steepest descent in mass-weighted
coordinates): one side must reach the IS, the other the new minimum.""",
    """ends = []
for sign in (-1, 1):
    pts, es = descent_path(surface, xs.ravel(), sign * mass_weighted_unstable_mode(surface, xs))
    q = system.quench(pts[-1].reshape(-1, 3))
    ends.append(q)
    print(f"side {sign:+d}: {len(pts)} path points, ends at E = {q.energy:.6f}  "
          f"(IS {e_is:.6f}, minimum {m['e']:.6f})")""",
    """md:## All of it in one call
`search_dwps` does everything above, records the reasons for rejected pairs, and computes the
descriptors of each DWP (asymmetry, barrier, distances, participation ratios, the central
particle).""",
    """res = tlsviz.search_dwps(system, x_is, tries=TRIES, seed=7, is_id=is_id)
print(res.stats)
res.dwps[["asymmetry", "barrier", "d", "d_mw", "d_mwrp", "central_type", "pr2", "count"]]""",
    """if len(res.dwps):
    e = res.path_energies[0]; q = res.path_arclengths[0]
    plt.figure(figsize=(5, 3)); plt.plot(q, e - e[0], "o-", ms=3)
    plt.xlabel("mass-weighted path length q (σ √m_A)"); plt.ylabel("E − E_IS (ε)"); plt.title("the double well")""",
])

save("03-explorer.ipynb", [
    """md:# 3. The explorer

The explorer shows the DWPs of a catalogue: pick an inherent structure, watch the path
minimum → saddle → minimum animate (particles coloured by how far they move; the red halo marks
the *central* particle, the one that moves most, drawn at the centre of the periodic box at the
saddle with its neighbours see-through so that it stays visible; the arrows show each moving
particle's displacement, scaled up), compare its sorted displacement curve with the catalogue's
averages, and run new searches. The first search in a new environment compiles the search
kernels first (about two minutes; the launcher says so).

With no argument it opens the built-in demo catalogue (30 inherent structures of N = 65).
▶ below the 3-D view plays the whole path (it loops); the table lists the DWPs, a click on a row shows one.""",
    """import tlsviz
from tlsviz.widgets import Explorer
ex = Explorer()
ex""",
    """md:## Central B events
In this glass the particle that moves most in a DWP is often a small B particle. The button
*Central B events* in the filter panel lists them; the arrows step through them. The same from
code:""",
    """keys = ex.model.central_b_events()
print(f"{len(keys)} of {len(ex.model.table)} DWPs have a central B particle")
if keys:
    ex.model.selected_dwp = keys[0]""",
    """md:Try it: pick an inherent structure on the left, press **Run**, and watch the table grow as
DWPs are verified. Everything the explorer shows is in `ex.model` (e.g. `ex.model.table`).""",
])

save("04-analyses.ipynb", [
    """md:# 4. The published analyses on a campaign

A campaign searches many inherent structures and writes a catalogue. From it, `tlsviz.analysis`
computes the observables of the published study: how far DWPs reach, how many there are per
structure and per particle, the participation ratios, whether the central particle is A or B...

`MINIMA` is the size knob: the default is small enough for a laptop in a few minutes; the
published statistics need thousands (run `tlsviz search --minima 5000 --workers 8` instead).""",
    """import os, tempfile
import matplotlib.pyplot as plt
import tlsviz
from tlsviz import analysis
MINIMA = int(os.environ.get("TLSVIZ_NB_MINIMA", 8))     # knob: inherent structures
TRIES = int(os.environ.get("TLSVIZ_NB_TRIES", 400))
BURN_IN = float(os.environ.get("TLSVIZ_NB_BURN_IN", 1000.0))
out = os.path.join(tempfile.mkdtemp(), "campaign")
cat = tlsviz.run_campaign(tlsviz.CampaignConfig(n=65, minima=MINIMA, tries=TRIES, burn_in=BURN_IN, seed=1), out)
cat""",
    """md:The demo catalogue has 30 IS already; we analyse both, side by side.""",
    """from tlsviz.demo import demo_catalog
demo = demo_catalog()
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
analysis.SortedDisplacements().compute(demo).plot(axes[0])
analysis.ParticipationVsDistance().compute(demo).plot(axes[1])""",
    """table = analysis.ParticipationRatioTable().compute(demo)
table.table""",
    """per_is = analysis.DWPsPerMinimum().compute([demo, cat])
per_is.table""",
    """md:## From DWPs to two-level systems
A DWP becomes a tunnelling two-level system when the particles can tunnel through the barrier:
along the mass-weighted path q the 1-D Schrödinger equation gives the tunnel splitting Δ₀ (WKB:
Δ₀ ≈ ħω/π · e^(−λ)), and the TLS energy is E = √(Δ² + Δ₀²). In Ni₈₀P₂₀ units (ħ* = 0.0132), a DWP
is a TLS when E < 1 K; P̄ is the density of the tunnelling model (docs/tunnelling.md). A small
catalogue often holds no TLS below 1 K at all; P̄ is then quoted as an upper limit: with no TLS in
a volume 𝒱, P̄ < 3 / (𝒱 · 1 K) at 95 % confidence (three is the Poisson mean that gives "none"
only 5 % of the time), which shrinks as more IS are searched.""",
    """from tlsviz.analysis import TunnellingAnalysis
tun = TunnellingAnalysis().compute(demo)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
tun.plot(axes[0], quantity="lambda_wkb"); tun.plot(axes[1], quantity="log10_delta0")
print(tun.p_bar_summary())   # with no TLS: a 95 % upper limit on P̄
tun.table[["is_id", "asymmetry", "barrier", "lambda_wkb", "delta0", "tls_energy", "is_tls"]].head()""",
    """md:`tlsviz report` writes all figures, tables and a `summary.json` for a set of catalogues:""",
    """from tlsviz.analysis.report import write_report
summary = write_report([demo, cat], os.path.join(tempfile.mkdtemp(), "report"), labels=["demo", "this run"], formats=("png",))
sorted(summary["catalogues"][0])[:12]""",
])
