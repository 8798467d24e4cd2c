"""The explorer at N = 2000 against N = 65: opening a catalogue, building the app, what is drawn,
and (``--screenshots``) the page in a real browser (issue: the explorer copes with N = 2000).

    python benchmarks/bench_explorer.py [--minima 4] [--dwps 33] [--frames 41] [--lattice]
                                        [--screenshots DIR] [--keep DIR]

Two synthetic catalogues of the same shape (``--minima`` IS with ``--dwps`` DWPs each, paths of
``--frames`` frames, written and consolidated in the format of docs/catalog.md): one at N = 65,
one at N = 2000. Their structures are inherent structures of the glass (random positions
quenched; ``--lattice``: a jittered lattice, no engine) and their DWPs are made up: a central
particle moves 0.3–0.8 σ, its nearest neighbour up to 0.7 times as far, and every other particle
i by an elastic tail 0.15 |d_c| / r_ic² in a random direction; the path is the straight line IS →
minimum. 33 DWPs per IS is the demo catalogue's DWPs per particle (32 DWPs in 30 IS at N = 65)
scaled to N = 2000. Times are the best of 3 after a warm-up:

- ``Catalog.open``;
- the app, ``Explorer(cat)``, built inside a running event loop as in a kernel (what a notebook
  cell or a Voilà page waits for), and the time until the plot's mean curves (every DWP's
  displacements, read in the background) arrive;
- the app built in a plain script (no event loop: everything at once);
- selecting another DWP, and changing the neighbourhood radius;
- the particles drawn and the structure text (PDB) sent to NGL.

``--screenshots DIR``: serves each catalogue with ``tlsviz explore`` (Voilà) and opens it in
Debian chromium (playwright) at 1280 × 800 and 1920 × 1080; prints the seconds from loading the
page to NGL's first drawn picture and writes ``explorer-n{N}-{W}x{H}.png`` into DIR. Nothing
here is asserted: it prints and writes a section of benchmarks/RESULTS.md.
"""

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _benchutil import command_line, info_block, machine_info, table, write_section

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import tlsviz  # noqa: E402
from fake_catalog import lattice, make_catalog  # noqa: E402
from tlsviz.catalog import consolidate  # noqa: E402


def structure(system, seed: int, use_lattice: bool) -> np.ndarray:
    if use_lattice:
        return lattice(system.n_particles, system.box, seed)
    return system.quench(system.random_positions(seed=seed)).positions


def made_up_dwp(x, box, rng) -> np.ndarray:
    """(N, 3) displacements: central particle, its nearest neighbour, an elastic 1/r² tail."""
    n = len(x)
    c = int(rng.integers(n))
    r = x - x[c]
    r -= box * np.rint(r / box)
    dist = np.linalg.norm(r, axis=1)
    dist[c] = np.inf
    amp_c = rng.uniform(0.3, 0.8)
    u = rng.normal(size=(n, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    d = (0.15 * amp_c / np.maximum(dist, 0.8) ** 2)[:, None] * u
    d[c] = amp_c * u[c]
    d[int(np.argmin(dist))] = rng.uniform(0.2, 0.7) * amp_c * u[int(np.argmin(dist))]
    return d - d.mean(axis=0)  # no net translation, as stored


def build(root: Path, n: int, args) -> "tlsviz.Catalog":
    system = tlsviz.KobAndersen(n=n)
    rng = np.random.default_rng(n)
    t0 = time.perf_counter()
    x = structure(system, 1, args.lattice)
    t_struct = time.perf_counter() - t0
    structures = [dict(energy=-7.0 + 0.01 * k, positions=x,
                       dwps=[dict(disp=made_up_dwp(x, system.box, rng), asymmetry=float(rng.uniform(0.001, 0.1)),
                                  barrier=float(rng.uniform(0.01, 0.3))) for _ in range(args.dwps)])
                  for k in range(args.minima)]
    cat = make_catalog(root, structures, n=n, frames=args.frames)
    consolidate(root)
    print(f"N = {n}: structure {t_struct:.1f} s, catalogue written in {time.perf_counter() - t0 - t_struct:.1f} s "
          f"({sum(f.stat().st_size for f in root.rglob('*') if f.is_file()) / 1e6:.1f} MB)", flush=True)
    return tlsviz.Catalog.open(cat.root)


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def in_a_kernel(root: Path) -> tuple[float, float]:
    """(seconds to build the app, seconds until the mean curves are drawn) in a running loop."""

    async def run():
        from tlsviz.widgets import Explorer

        t0 = time.perf_counter()
        ex = Explorer(tlsviz.Catalog.open(root))
        t_app = time.perf_counter() - t0
        while ex.model._mean_curves is None:
            await asyncio.sleep(0.002)
        return t_app, time.perf_counter() - t0

    return asyncio.run(run())


def measure(root: Path) -> dict:
    from tlsviz.widgets import Explorer

    in_a_kernel(root)  # warm-up: imports, first widgets, the OS's file cache
    runs = [in_a_kernel(root) for _ in range(3)]
    out = dict(open=best(lambda: tlsviz.Catalog.open(root)), app=min(r[0] for r in runs),
               curves=min(r[1] for r in runs), script=best(lambda: Explorer(tlsviz.Catalog.open(root))))
    ex = Explorer(tlsviz.Catalog.open(root))
    v, keys = ex.viewer, list(ex.model.table.key)
    k = iter(keys[1:] * 3)
    out["select"] = best(lambda: setattr(ex.model, "selected_dwp", next(k)))
    default = v.radius.value
    radii = iter([2.0, 2.5, 2.0])
    out["radius"] = best(lambda: setattr(v.radius, "value", next(radii)))
    v.radius.value = default
    pdb = [m for m in v.view._ngl_msg_archive if m.get("methodName") == "loadFile"][-1]["args"][0]["data"]
    out.update(n=ex.model.system.n_particles, drawn=len(v.drawn), pdb_kb=len(pdb) / 1e3,
               frame_kb=12 * len(v.drawn) / 1e3, radius_default=v.radius.value, dwps=len(keys))
    return out


# ------------------------------------------------------------------------------ browser
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def screenshots(root: Path, n: int, out: Path, browser) -> list[str]:
    """Serve the catalogue with `tlsviz explore`, shoot 1280 × 800 and 1920 × 1080; the seconds
    from page load to NGL's first picture at each size."""
    from test_browser import image_stats

    port = free_port()
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    proc = subprocess.Popen([sys.executable, "-m", "tlsviz", "explore", str(root), "--port", str(port)], cwd=REPO,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    notes = []
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("tlsviz explore did not start")
            time.sleep(0.3)
        for width, height in ((1280, 800), (1920, 1080)):
            page = browser.new_page(viewport={"width": width, "height": height})
            t0 = time.monotonic()
            page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded", timeout=120_000)
            page.locator(".tlsviz-explorer h3").wait_for(state="attached", timeout=300_000)
            t_app = time.monotonic() - t0
            canvas = None
            while time.monotonic() - t0 < 120:
                found = page.locator("canvas").evaluate_all(
                    "cs => cs.map((c, i) => [i, !c.closest('.jupyter-matplotlib') && c.width > 100])")
                idx = [i for i, ok in found if ok]
                if idx:
                    canvas = page.locator("canvas").nth(idx[0])
                    colours, fg = image_stats(canvas.screenshot())
                    if colours >= 100 and fg >= 0.05:
                        break
                time.sleep(0.5)
            t_ngl = time.monotonic() - t0
            page.wait_for_timeout(1500)  # NGL's last frames, the plot's mean curves
            name = out / f"explorer-n{n}-{width}x{height}.png"
            page.screenshot(path=str(name))
            notes.append(f"{width} × {height}: app {t_app:.1f} s, NGL drawn {t_ngl:.1f} s after page load")
            print(f"N = {n}, {notes[-1]} -> {name}", flush=True)
            page.close()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    return notes


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minima", type=int, default=4)
    p.add_argument("--dwps", type=int, default=33, help="DWPs per IS")
    p.add_argument("--frames", type=int, default=41)
    p.add_argument("--lattice", action="store_true", help="a jittered lattice instead of a quenched glass")
    p.add_argument("--screenshots", metavar="DIR", help="serve each catalogue and screenshot it into DIR")
    p.add_argument("--keep", metavar="DIR", help="write the catalogues here (default: a temporary folder)")
    p.add_argument("--results", default=str(Path(__file__).with_name("RESULTS.md")))
    args = p.parse_args()

    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-explorer-"))
    roots = {}
    for n in (65, 2000):
        roots[n] = base / f"n{n}"
        if not (roots[n] / "campaign.json").exists():
            build(roots[n], n, args)
    results = {n: measure(root) for n, root in roots.items()}
    rows = []
    for n, r in results.items():
        rows.append([f"N = {n}", str(r["dwps"]), f"{1000 * r['open']:.2f}", f"{r['app']:.3f}", f"{r['curves']:.3f}",
                     f"{r['script']:.3f}", f"{r['select']:.3f}", f"{r['radius']:.3f}",
                     f"{r['drawn']} of {r['n']}", f"{r['pdb_kb']:.1f}", f"{r['frame_kb']:.1f}"])
        print(rows[-1], flush=True)
    headers = ["catalogue", "DWPs", "Catalog.open (ms)", "app in a kernel (s)", "+ mean curves (s)",
               "app in a script (s)", "select a DWP (s)", "change radius (s)", "particles drawn",
               "PDB to NGL (kB)", "coordinates / frame (kB, est.)"]
    shots = []
    if args.screenshots:
        from playwright.sync_api import sync_playwright
        from test_browser import CHROMIUM_ARGS

        out = Path(args.screenshots)
        out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=os.environ.get("TLSVIZ_CHROMIUM", "/usr/bin/chromium"),
                                         headless=True, args=CHROMIUM_ARGS)
            for n, root in roots.items():
                shots += [f"- N = {n}, {note}" for note in screenshots(root, n, out, browser)]
            browser.close()
    body = ("## The explorer at N = 2000 (`bench_explorer.py`)\n\n"
            + info_block(machine_info(), command_line())
            + f"\nTwo synthetic catalogues of the same shape ({args.minima} IS × {args.dwps} DWPs, paths of "
            f"{args.frames} frames; structures {'on a lattice' if args.lattice else 'quenched from random positions'}"
            "), best of 3. 'app in a kernel': `Explorer(cat)` inside a running event loop (a notebook cell, "
            "a Voilà page); '+ mean curves': until the plot's mean curves, read in the background, are "
            "drawn; 'app in a script': no event loop, everything at once.\n\n"
            + table(headers, rows) + "\n"
            + ("\nIn chromium (`tlsviz explore`, a fresh kernel per page: imports included):\n\n" + "\n".join(shots)
               + "\n" if shots else ""))
    print(body)
    print(f"(written to {write_section('bench_explorer', body, Path(args.results))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
