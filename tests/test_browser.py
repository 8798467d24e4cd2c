"""The explorer in a real browser: JupyterLab on 127.0.0.1 + Debian chromium driven by playwright.

One JupyterLab server (module-scoped) opens notebooks/explorer.ipynb (a copy: nothing is written
into the repository) at 1280 × 800 with the file browser open, runs all its cells and checks, then
again at 1920 × 1080: no element of the app lies beyond its output area or the viewport or is cut
by a box, no label or readout is cut, the NGL canvas is drawn and as wide as its column, no widget
error reached the console. At 1280 × 800 a Run adds rows to the DWP table, and the new row,
clicked, changes the displacement plot. Screenshots of both sizes, the server log and the
console go to ``test-artifacts/`` (git-ignored; CI keeps them as artifacts).

Needs Debian chromium (``apt-get install -y chromium``) and the PyPI ``playwright`` package (in the
``test`` extra). Without them the tests skip, saying so, unless the environment variable CI is
set (``.ci/run`` sets it): then they fail. The chromium flags: WebGL through SwiftShader, no sandbox as root.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
NOTEBOOK = "notebooks/explorer.ipynb"
INSTALL = ("install the browser test's tools: Debian chromium (`apt-get install -y chromium`, as root) and "
           "the PyPI playwright package (`pip install -e '.[test]'`, or `pip install playwright`); "
           "`playwright install` is not needed: the test drives /usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",  # WebGL (NGL) without a GPU
    "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
    "--disable-sync", "--no-first-run", "--disable-breakpad", "--disable-domain-reliability",
    "--metrics-recording-only", "--no-default-browser-check",
]
#: Console text that means a widget failed to render (nglview 4.0.1's version mismatch says the first).
WIDGET_ERRORS = ("not registered", "Failed to load model", "Could not create a view", "Could not create model",
                 "Error creating widget", "Could not instantiate widget", "Error rendering", "Class not found",
                 "Error setting state")
CELL_TIMEOUT = 300  # s: a fresh CI venv compiles the numba kernels while the first cell runs
RUN_TIMEOUT = 90  # s: from the click on Run to the first row of the results table


def browser_tools() -> str:
    """The chromium executable, after checking that playwright imports.

    Outside CI a missing tool skips the browser tests (with the reason and how to install it);
    in CI (the environment variable CI is set, as .ci/run does) it fails them: CI must run them.
    """
    path = os.environ.get("TLSVIZ_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    missing = []
    if not Path(path).is_file():
        missing.append("chromium not found (looked for $TLSVIZ_CHROMIUM, `chromium` on PATH, /usr/bin/chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package is not installed")
    if missing:
        reason = "; ".join(missing) + f": {INSTALL}"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so the browser tests must run: {reason}", pytrace=False)
        pytest.skip(f"browser test skipped (set CI=1 to make this a failure): {reason}")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """A ``jupyter lab`` server on 127.0.0.1 over a temporary copy of the notebook and tests/data."""

    def __init__(self, tmp: Path):
        self.root = tmp / "root"
        self.home = tmp / "jupyter-home"
        self.log_path = tmp / "jupyter-lab.log"
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.token = secrets.token_hex(16)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0):
        (self.root / NOTEBOOK).parent.mkdir(parents=True)
        shutil.copyfile(REPO / NOTEBOOK, self.root / NOTEBOOK)
        shutil.copytree(REPO / "tests" / "data", self.root / "tests" / "data")
        settings = self.home / "lab-settings"
        # answer JupyterLab's "receive official Jupyter news?" question in advance (the test still
        # dismisses the toast should it show up)
        (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
        (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false"}))
        env = dict(os.environ,
                   JUPYTER_CONFIG_DIR=str(self.home / "config"), JUPYTER_RUNTIME_DIR=str(self.home / "runtime"),
                   JUPYTERLAB_SETTINGS_DIR=str(settings),
                   JUPYTERLAB_WORKSPACES_DIR=str(self.home / "workspaces"), IPYTHONDIR=str(self.home / "ipython"),
                   PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
        env.pop("JUPYTER_PATH", None)
        self.port = free_port()
        cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
               "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {self.proc.returncode}:\n{self.log_text()}", pytrace=False)
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.3)
        pytest.fail(f"jupyter lab did not answer within {timeout:.0f} s:\n{self.log_text()}", pytrace=False)

    def log_text(self, tail: int = 6000) -> str:
        try:
            self.log.flush()
            return self.log_path.read_text(errors="replace")[-tail:]
        except (OSError, ValueError, AttributeError):
            return ""

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:  # the clean way: the server shuts its kernels down too
                req = urllib.request.Request(f"{self.url}/api/shutdown", method="POST",
                                             headers={"Authorization": f"token {self.token}"})
                urllib.request.urlopen(req, timeout=5).close()
                self.proc.wait(15)
            except Exception:
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        try:  # whatever is left of its session (a kernel that did not go): only the group we started
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait(10)
        self.log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One JupyterLab server for the module's tests (started on first use)."""
    browser_tools()
    server = JupyterLab(tmp_path_factory.mktemp("lab"))
    server.start()
    yield server
    server.stop()
    ARTIFACTS.mkdir(exist_ok=True)
    if server.log_path.exists():
        shutil.copyfile(server.log_path, ARTIFACTS / "jupyter-lab.log")


# ------------------------------------------------------------------------------------------ browser
KERNEL_STATUS = """() => {
    const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return k ? k.status : null;
}"""
CELL_STATE = """() => {
    const w = window.jupyterapp.shell.currentWidget;
    return w.content.widgets.filter(c => c.model.type === 'code').map(c => ({
        count: c.model.executionCount,
        prompt: c.node.querySelector('.jp-InputPrompt') ? c.node.querySelector('.jp-InputPrompt').textContent : '',
        outputs: c.model.outputs.toJSON(),
    }));
}"""
NGL_CANVAS = """() => {
    // NGL's canvas: a canvas in the output area that is not ipympl's
    const all = Array.from(document.querySelectorAll('.jp-OutputArea canvas'));
    const ngl = all.filter(c => !c.closest('.jupyter-matplotlib') && !/matplotlib/.test(c.className));
    ngl.forEach(c => c.setAttribute('data-tlsviz-ngl', '1'));
    return ngl.length;
}"""


def wait_for(predicate, timeout: float, interval: float = 0.5, what: str = "condition", guard=None):
    """Poll predicate until true; guard() runs first each time (it raises to fail early)."""
    deadline = time.monotonic() + timeout
    while True:
        if guard is not None:
            guard()
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def image_stats(png: bytes) -> tuple[int, float]:
    """(distinct colours, fraction of pixels unlike the most common one, i.e. not background)."""
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    packed = (rgb[:, 0].astype(np.int64) << 16) | (rgb[:, 1].astype(np.int64) << 8) | rgb[:, 2]
    values, counts = np.unique(packed, return_counts=True)
    return len(values), 1.0 - counts.max() / len(packed)


def dismiss_news(page):
    for name in ("No", "Dismiss"):
        button = page.get_by_role("button", name=name, exact=True)
        if button.count():
            try:
                button.first.click(timeout=2000)
            except Exception:
                pass


def run_all_cells(page, timeout: float = 120.0):
    """notebook:run-all-cells, sent again until the kernel took it (one sent too early is dropped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate(KERNEL_STATUS) != "idle":
            time.sleep(0.5)
            continue
        dismiss_news(page)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        try:  # taken: a code cell shows [*] or a number
            wait_for(lambda: any(s["count"] is not None or "*" in s["prompt"] for s in page.evaluate(CELL_STATE)),
                     8, 0.25, "run-all to start")
            return
        except AssertionError:
            continue
    raise AssertionError(f"the kernel never took notebook:run-all-cells within {timeout:.0f} s "
                         f"(kernel status {page.evaluate(KERNEL_STATUS)!r})")


LAYOUT = """() => {
    // what of the explorer lies outside its output area or the viewport, and which texts are cut
    const root = document.querySelector('.tlsviz-explorer');
    if (!root) { return {error: 'no .tlsviz-explorer on the page'}; }
    const area = root.closest('.jp-OutputArea-output') || document.body;
    const A = area.getBoundingClientRect();
    const W = document.documentElement.clientWidth;
    const name = el => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
        ? '.' + el.className.trim().split(/\\s+/).slice(0, 3).join('.') : '')
        + (el.textContent ? ' "' + el.textContent.trim().slice(0, 40) + '"' : '');
    const shown = el => {
        const cs = getComputedStyle(el);
        if (cs.display === 'none' || cs.visibility === 'hidden') { return false; }
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.height > 0;
    };
    // boxes meant to scroll (the table's body and header, list boxes): what is inside may extend
    // beyond them; any other box that clips (overflow not visible) must hold its contents
    const scrolls = p => p.matches('.dt-scroll-body, .dt-scroll-head, .dt-scroll-headInner, select');
    const inScroller = el => {
        for (let p = el.parentElement; p && p !== root; p = p.parentElement) {
            if (scrolls(p)) { return true; }
        }
        return false;
    };
    const outside = [], clipped = [];
    for (const el of root.querySelectorAll('*')) {
        if (!shown(el) || inScroller(el)) { continue; }
        const r = el.getBoundingClientRect();
        if (r.left < A.left - 1 || r.right > A.right + 1 || r.right > W + 1 || r.left < -1) {
            outside.push(`${name(el)}: x ${r.left.toFixed(0)}..${r.right.toFixed(0)} (output area `
                         + `${A.left.toFixed(0)}..${A.right.toFixed(0)}, viewport ${W})`);
            continue;
        }
        for (let p = el.parentElement; p && root.contains(p); p = p.parentElement) {
            const cs = getComputedStyle(p);
            if (cs.overflowX === 'visible' && cs.overflowY === 'visible') { continue; }
            const q = p.getBoundingClientRect();
            if (r.left < q.left - 1 || r.right > q.right + 1 || r.top < q.top - 1 || r.bottom > q.bottom + 1) {
                outside.push(`${name(el)}: ${r.left.toFixed(0)}..${r.right.toFixed(0)} x ${r.top.toFixed(0)}..`
                             + `${r.bottom.toFixed(0)} cut by ${name(p).slice(0, 80)} (${q.left.toFixed(0)}..`
                             + `${q.right.toFixed(0)} x ${q.top.toFixed(0)}..${q.bottom.toFixed(0)})`);
                break;
            }
        }
    }
    const texts = root.querySelectorAll('.widget-label, .jupyter-widget-label, .widget-label-basic, '
        + '.widget-readout, .jupyter-widget-readout, .widget-toggle-button, .widget-button, th, td, label');
    for (const el of texts) {
        if (!shown(el) || inScroller(el) && !el.closest('th')) { continue; }
        if (el.scrollWidth > el.clientWidth + 1) {
            clipped.push(`${name(el)}: text ${el.scrollWidth} px in ${el.clientWidth} px`);
        }
    }
    return {outside: outside.slice(0, 20), n_outside: outside.length, clipped: clipped.slice(0, 20),
            n_clipped: clipped.length, area: [A.left, A.right], viewport: W,
            explorer: [root.getBoundingClientRect().width, root.getBoundingClientRect().height]};
}"""
TABLE_ROWS = "() => document.querySelectorAll('.tlsviz-dwp-table tbody tr:not(:has(td.dt-empty))').length"
COLUMN_VALUES = """(i) => Array.from(document.querySelectorAll('.tlsviz-dwp-table tbody tr'))
    .map(r => r.children[i]).filter(c => c).map(c => parseFloat(c.textContent))"""
NGL_SIZE = """() => { const c = document.querySelector('canvas[data-tlsviz-ngl]');
    const col = c && c.closest('.tlsviz-col');
    return c ? [c.getBoundingClientRect().width, col ? col.getBoundingClientRect().width : 0] : null; }"""


class Page:
    """A chromium page on the JupyterLab server, with its console collected."""

    def __init__(self, browser, width: int, height: int):
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"[{m.type}] {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"[pageerror] {e}"))

    def no_widget_errors(self):
        bad = [m for m in self.console if any(s in m for s in WIDGET_ERRORS) or m.startswith("[pageerror]")]
        assert not bad, "widget errors in the browser console:\n" + "\n".join(bad)


@pytest.fixture(scope="module")
def browser():
    exe = browser_tools()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def ngl_drawn(page, no_errors, timeout: float = 60.0):
    """Wait until NGL's canvas holds a picture (many colours, not mostly background)."""
    wait_for(lambda: page.evaluate(NGL_CANVAS), timeout, 0.5, "the NGL canvas", no_errors)
    canvas = page.locator("canvas[data-tlsviz-ngl]").first
    stats = []

    def drawn():
        canvas.scroll_into_view_if_needed()
        stats.append(image_stats(canvas.screenshot()))
        colours, fg = stats[-1]
        return colours >= 100 and fg >= 0.05

    try:
        wait_for(drawn, timeout, 1.0, "NGL to draw", no_errors)
    except AssertionError:
        raise AssertionError(f"the NGL canvas stayed (nearly) blank: (distinct colours, non-background "
                             f"fraction) = {stats[-3:]}") from None
    return canvas, stats[-1]


@pytest.fixture(scope="module")
def explorer_page(lab, browser):
    """notebooks/explorer.ipynb run in JupyterLab at 1280 × 800 with the file browser open."""
    ARTIFACTS.mkdir(exist_ok=True)
    t0 = time.monotonic()
    p = Page(browser, 1280, 800)
    page = p.page
    try:
        page.goto(f"{lab.url}/lab/tree/{NOTEBOOK}?token={lab.token}", wait_until="domcontentloaded")
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                               " && window.jupyterapp.shell.currentWidget.sessionContext", timeout=60_000)
        page.evaluate("() => window.jupyterapp.shell.activateById('filebrowser')")  # the side bar, open
        run_all_cells(page)

        def cells_done():  # every code cell ran, without an error output
            state = page.evaluate(CELL_STATE)
            errors = [o for s in state for o in s["outputs"] if o.get("output_type") == "error"]
            assert not errors, "a cell failed:\n" + "\n".join(
                f"{e['ename']}: {e['evalue']}\n" + re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(e["traceback"]))
                for e in errors)
            return all(s["count"] is not None and "*" not in s["prompt"] for s in state)

        wait_for(cells_done, CELL_TIMEOUT, 1.0, "all cells to run", p.no_widget_errors)
        title = page.locator(".jp-OutputArea .jupyter-widgets h3", has_text="tlsviz explorer")
        title.wait_for(state="attached", timeout=60_000)
        title.evaluate("e => e.scrollIntoView({block: 'start'})")
        p.canvas, p.ngl_stats = ngl_drawn(page, p.no_widget_errors)
        p.title = title
        print(f"\nexplorer notebook ran and NGL drew in {time.monotonic() - t0:.1f} s")
        yield p
    finally:
        (ARTIFACTS / "browser-console.log").write_text("\n".join(p.console) + "\n")
        page.close()


def check_layout(p: Page, label: str):
    """Nothing of the app beyond its output area or the viewport; no cut label or readout."""
    p.title.evaluate("e => e.scrollIntoView({block: 'start'})")
    p.page.wait_for_timeout(700)  # let the boxes settle (NGL resizes on the next frame)
    lay = p.page.evaluate(LAYOUT)
    assert "error" not in lay, lay["error"]
    assert lay["n_outside"] == 0, (f"{label}: {lay['n_outside']} element(s) of the explorer lie beyond its output "
                                   f"area or the viewport:\n" + "\n".join(lay["outside"]))
    assert lay["n_clipped"] == 0, (f"{label}: {lay['n_clipped']} text(s) cut:\n" + "\n".join(lay["clipped"]))
    ngl, col = p.page.evaluate(NGL_SIZE)
    assert col * 0.9 <= ngl <= col + 1, f"{label}: the 3-D view is {ngl:.0f} px wide in a {col:.0f} px column"
    return lay


def screenshots(p: Page, name: str):
    """The viewport with the explorer's top at the top, and with its DWP table in view."""
    p.title.evaluate("e => e.scrollIntoView({block: 'start'})")
    p.page.wait_for_timeout(300)
    p.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    p.page.locator(".tlsviz-dwp-table").first.evaluate("e => e.scrollIntoView({block: 'center'})")
    p.page.wait_for_timeout(300)
    p.page.screenshot(path=str(ARTIFACTS / f"{name}-table.png"))
    p.title.evaluate("e => e.scrollIntoView({block: 'start'})")


def test_explorer_at_1280x800_runs_a_search(explorer_page):
    p = explorer_page
    page = p.page
    t0 = time.monotonic()
    lay = check_layout(p, "1280 × 800, side bar open")
    screenshots(p, "explorer-1280x800")
    # Run: a search of the added IS adds rows to the table; the new DWP, clicked, is drawn and plotted
    before = page.evaluate(TABLE_ROWS)
    assert before >= 1, "the DWP table shows no rows"
    run = page.locator(".tlsviz-explorer button", has_text=re.compile(r"^\s*Run\s*$"))
    assert run.count() == 1, f"expected one Run button, found {run.count()}"
    plot = page.locator(".tlsviz-explorer .jupyter-matplotlib-canvas-div canvas").first
    plot_before = plot.screenshot()
    # sort by Δ (a click on its header): the order must survive the rows the search adds
    page.locator(".tlsviz-dwp-table thead th", has_text="Δ [ε]").first.click()
    wait_for(lambda: page.evaluate(COLUMN_VALUES, 2) == sorted(page.evaluate(COLUMN_VALUES, 2)), 10, 0.2,
             "the table sorted by Δ")
    run.click()
    t_click = time.monotonic()
    try:
        wait_for(lambda: page.evaluate(TABLE_ROWS) > before, RUN_TIMEOUT, 0.5, "new rows in the DWP table",
                 p.no_widget_errors)
    except AssertionError:
        panel = page.locator(".tlsviz-explorer").first.inner_text()
        raise AssertionError(f"no new DWP row {RUN_TIMEOUT} s after Run; the explorer shows:\n{panel}") from None
    t_rows = time.monotonic() - t_click
    after = page.evaluate(TABLE_ROWS)
    delta = page.evaluate(COLUMN_VALUES, 2)
    assert delta == sorted(delta), f"the rows lost their order by Δ when the search added one: {delta}"
    # the new DWP is the added structure's (IS 4, which had none): click it
    new_row = page.locator(".tlsviz-dwp-table tbody tr").filter(
        has=page.locator("td:first-child", has_text=re.compile(r"^\s*4\s*$"))).last
    new_row.scroll_into_view_if_needed()
    new_row.click()
    wait_for(lambda: "selected" in (new_row.get_attribute("class") or ""), 10, 0.2, "the clicked row selected")
    wait_for(lambda: plot.screenshot() != plot_before, 20, 0.5, "the displacement plot to change",
             p.no_widget_errors)
    check_layout(p, "1280 × 800 after a search")
    screenshots(p, "explorer-1280x800-after-run")
    p.no_widget_errors()
    print(f"1280 x 800: explorer {lay['explorer'][0]:.0f} x {lay['explorer'][1]:.0f} px in an output area "
          f"{lay['area'][1] - lay['area'][0]:.0f} px wide; NGL {p.ngl_stats[0]} colours, {p.ngl_stats[1]:.0%} "
          f"drawn; {before} -> {after} rows, first new row {t_rows:.1f} s after Run; test {time.monotonic() - t0:.1f} s")


def test_explorer_at_1920x1080(explorer_page):
    p = explorer_page
    t0 = time.monotonic()
    p.page.set_viewport_size({"width": 1920, "height": 1080})
    lay = check_layout(p, "1920 × 1080, side bar open")
    ngl_drawn(p.page, p.no_widget_errors)
    screenshots(p, "explorer-1920x1080")
    p.no_widget_errors()
    print(f"1920 x 1080: explorer {lay['explorer'][0]:.0f} x {lay['explorer'][1]:.0f} px; "
          f"test {time.monotonic() - t0:.1f} s")


def test_tlsviz_explore_serves_the_explorer(browser):
    """`tlsviz explore` serves the app with Voilà: the page draws NGL and fits 1280 × 800 (the
    teacher's flow: central-B events, Play), and Ctrl-C stops the server and frees the port."""
    t0 = time.monotonic()
    port = free_port()
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    proc = subprocess.Popen([sys.executable, "-m", "tlsviz", "explore", "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    p = Page(browser, 1280, 800)
    try:
        url = wait_for(lambda: next((m.group(0) for m in map(re.compile(r"http://127\.0\.0\.1:\d+/").search, lines)
                                     if m), None) or (proc.poll() is not None and pytest.fail(
                                         "tlsviz explore exited:\n" + "".join(lines), pytrace=False)),
                       60, 0.2, "tlsviz explore to print its URL")
        assert url == f"http://127.0.0.1:{port}/"
        t_url = time.monotonic() - t0
        page = p.page
        page.goto(url, wait_until="domcontentloaded", timeout=60_000)
        p.title = page.locator(".tlsviz-explorer h3", has_text="tlsviz explorer")
        p.title.wait_for(state="attached", timeout=CELL_TIMEOUT * 1000)
        # the teacher's flow: the central-B events, the path playing
        page.locator(".tlsviz-explorer button", has_text="Central B events").click()
        p.canvas, stats = ngl_drawn(page, p.no_widget_errors)
        lay = check_layout(p, "Voilà at 1280 × 800")
        readout = page.locator(".tlsviz-explorer .widget-hslider", has_text="frame").locator(".widget-readout")
        rest = int(readout.inner_text())  # the view rests at the saddle
        page.locator(".tlsviz-explorer .widget-play button").first.click()
        frames, shot = [], False
        for _ in range(60):  # Play starts the whole path at frame 0 and loops
            frames.append(int(readout.inner_text()))
            if not shot and min(frames) <= 3 and frames[-1] >= rest - 4:  # mid-animation, near the saddle
                page.screenshot(path=str(ARTIFACTS / "explore-voila-1280x800.png"))
                shot = True
            page.wait_for_timeout(100)
        top = max(frames)
        wraps = [i for i in range(1, len(frames)) if frames[i] < frames[i - 1] and frames[i - 1] >= top - 2]
        assert min(frames) <= 3 and top > rest and wraps, (
            f"Play from the saddle (frame {rest}) should run from frame 0 to the end and loop: {frames}")
        p.no_widget_errors()
        t_page = time.monotonic() - t0
    finally:
        (ARTIFACTS / "explore-voila-console.log").write_text("\n".join(p.console) + "\n")
        p.page.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            rc = proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            rc = proc.wait(10)
        reader.join(5)
        (ARTIFACTS / "explore-voila.log").write_text("".join(lines))
    out = "".join(lines)
    assert rc == 0, f"tlsviz explore exited with {rc} after Ctrl-C:\n{out}"
    assert "stopped" in out and "Traceback" not in out, out
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers after Ctrl-C"
    print(f"\ntlsviz explore: URL after {t_url:.1f} s, NGL drawn ({stats[0]} colours), layout fits "
          f"({lay['explorer'][0]:.0f} px wide), Play pressed; {t_page:.1f} s, stopped in "
          f"{time.monotonic() - t0 - t_page:.1f} s")
