"""The explorer in a real browser: JupyterLab on 127.0.0.1 + Debian chromium driven by playwright.

Opens notebooks/explorer.ipynb (a copy, so nothing is written into the repository), runs all its
cells, and checks that the NGL view drew the particles, that no widget error reached the browser
console, and that clicking Run fills the results table. The screenshot
``test-artifacts/explorer.png`` is the CI artifact (with the server log and the browser console
beside it). Needs ``apt-get install -y chromium`` and the PyPI ``playwright`` package (in the
``test`` extra). Chromium runs with --no-sandbox (CI is root) and draws WebGL through
SwiftShader (no GPU).
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
                 "Error creating widget", "Could not instantiate widget", "Error rendering", "Class not found")
CELL_TIMEOUT = 300  # s: a fresh CI venv compiles the numba kernels while the first cell runs
RUN_TIMEOUT = 90  # s: from the click on Run to the first row of the results table


def chromium_path() -> str:
    path = os.environ.get("TLSVIZ_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.fail(f"chromium not found (looked for $TLSVIZ_CHROMIUM, `chromium` on PATH, /usr/bin/chromium): "
                    f"{INSTALL}", pytrace=False)
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


@pytest.fixture
def lab(tmp_path):
    server = JupyterLab(tmp_path)
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


def test_explorer_in_jupyterlab(lab):
    exe = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None:
        pytest.fail(f"playwright is not installed: {INSTALL}", pytrace=False)
    ARTIFACTS.mkdir(exist_ok=True)
    t0 = time.monotonic()
    lab.start()
    console: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1800, "height": 1500})
        page.on("console", lambda m: console.append(f"[{m.type}] {m.text}"))
        page.on("pageerror", lambda e: console.append(f"[pageerror] {e}"))

        def no_widget_errors():
            bad = [m for m in console if any(s in m for s in WIDGET_ERRORS) or m.startswith("[pageerror]")]
            assert not bad, "widget errors in the browser console:\n" + "\n".join(bad)

        try:
            page.goto(f"{lab.url}/lab/tree/{NOTEBOOK}?token={lab.token}", wait_until="domcontentloaded")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext", timeout=60_000)
            page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
            run_all_cells(page)

            # every code cell ran, without an error output
            def cells_done():
                state = page.evaluate(CELL_STATE)
                errors = [o for s in state for o in s["outputs"] if o.get("output_type") == "error"]
                assert not errors, "a cell failed:\n" + "\n".join(
                    f"{e['ename']}: {e['evalue']}\n" + re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(e["traceback"]))
                    for e in errors)
                return all(s["count"] is not None and "*" not in s["prompt"] for s in state)

            wait_for(cells_done, CELL_TIMEOUT, 1.0, "all cells to run", no_widget_errors)
            t_cells = time.monotonic() - t0

            # the explorer is on the page; bring it into view (windowed notebooks render what is visible)
            title = page.locator(".jp-OutputArea .jupyter-widgets h3", has_text="tlsviz explorer")
            title.wait_for(state="attached", timeout=60_000)
            title.scroll_into_view_if_needed()

            # NGL drew the particles: its canvas is far from blank
            wait_for(lambda: page.evaluate(NGL_CANVAS), 60, 0.5, "the NGL canvas", no_widget_errors)
            canvas = page.locator("canvas[data-tlsviz-ngl]").first
            canvas.scroll_into_view_if_needed()
            stats = []

            def drawn():
                stats.append(image_stats(canvas.screenshot()))
                colours, fg = stats[-1]
                return colours >= 100 and fg >= 0.05

            try:
                wait_for(drawn, 60, 1.0, "NGL to draw", no_widget_errors)
            except AssertionError:
                raise AssertionError(f"the NGL canvas stayed (nearly) blank: (distinct colours, non-background "
                                     f"fraction) = {stats[-3:]}; console:\n" + "\n".join(console)) from None

            # Run: a search of the added IS fills the results table
            run = page.locator(".jp-OutputArea .jupyter-widgets button", has_text=re.compile(r"^\s*Run\s*$"))
            assert run.count() == 1, f"expected one Run button, found {run.count()}"
            assert page.locator("table.tlsviz-dwps").count() == 0, "the results table has rows before Run"
            run.click()
            t_click = time.monotonic()
            rows = page.locator("table.tlsviz-dwps tbody tr")
            try:
                wait_for(lambda: rows.count() >= 1, RUN_TIMEOUT, 0.5, "rows in the results table", no_widget_errors)
            except AssertionError:
                panel = page.locator(".jp-OutputArea .jupyter-widgets").first.inner_text()
                raise AssertionError(f"no DWP row {RUN_TIMEOUT} s after Run; the explorer shows:\n{panel}") from None
            t_rows = time.monotonic() - t_click
            # the screenshot: the explorer at the top of the notebook's scroll area
            title.evaluate("e => e.scrollIntoView({block: 'start'})")
            page.wait_for_timeout(1500)  # let the plot and the view settle

            no_widget_errors()
            print(f"cells ran in {t_cells:.1f} s; first DWP row {t_rows:.1f} s after Run; "
                  f"NGL canvas {stats[-1][0]} colours, {stats[-1][1]:.0%} drawn; {rows.count()} row(s)")
        finally:
            try:
                page.screenshot(path=str(ARTIFACTS / "explorer.png"), full_page=True)
            except Exception:
                pass
            (ARTIFACTS / "browser-console.log").write_text("\n".join(console) + "\n")
            browser.close()
