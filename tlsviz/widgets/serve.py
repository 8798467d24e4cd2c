"""``tlsviz explore``: the explorer as a standalone web page, served by Voilà on this machine.

A teacher can project it without touching code: :func:`serve` writes a one-cell notebook
(``Explorer(catalog)``) into a temporary folder and runs Voilà on it, bound to 127.0.0.1 only.
Every visit of the page runs that notebook in a fresh kernel. Ctrl-C stops Voilà and its
kernels and removes the folder; so do SIGTERM and SIGHUP (a closed terminal).

Voilà runs in its own process group, so that Ctrl-C reaches this process only (Voilà would
otherwise ask for a confirmation on a terminal); it is then stopped with SIGTERM, and SIGKILL if
it does not go within ``STOP_TIMEOUT`` seconds.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOST = "127.0.0.1"
DEFAULT_PORT = 8866
READY_TIMEOUT = 60.0  # s until Voilà listens
STOP_TIMEOUT = 10.0  # s for Voilà to stop after SIGTERM


def app_notebook(catalog: str | os.PathLike | None = None):
    """The notebook Voilà serves: the explorer on ``catalog`` (absolute path) or the demo."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    arg = "" if catalog is None else repr(str(Path(catalog).resolve()))
    nb = new_notebook(cells=[new_code_cell(f"from tlsviz.widgets import Explorer\n\nExplorer({arg})")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["title"] = "tlsviz explorer"
    return nb


def voila_command(notebook: Path, port: int, host: str = HOST) -> list[str]:
    """The command line that serves ``notebook`` on host:port (no browser opened): Voilà, run
    through :mod:`tlsviz.widgets._voila` so that a page closed mid-message prints no traceback."""
    return [sys.executable, "-m", "tlsviz.widgets._voila", str(notebook), "--no-browser", f"--Voila.ip={host}",
            f"--port={port}", "--Voila.port_retries=0", "--show_tracebacks=True", "--Voila.log_level=WARN"]


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to Voilà's process group (its kernels too), SIGKILL if it lingers."""
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
    try:  # kernels left in the group after Voilà itself went
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def serve(catalog: str | os.PathLike | None = None, port: int = DEFAULT_PORT, host: str = HOST) -> int:
    """Serve the explorer on ``http://host:port/`` until Ctrl-C; returns an exit code.

    Parameters
    ----------
    catalog : path, optional
        A catalogue directory written by ``tlsviz search``; the built-in demo when None.
    port : int
        TCP port, 1-65535 (default 8866, Voilà's).
    host : str
        Address to bind; 127.0.0.1 keeps the page on this machine.

    Raises
    ------
    ValueError
        A port out of range or a directory that is not a catalogue (the message says which).
    """
    if not 1 <= int(port) <= 65535:
        raise ValueError(f"--port {port} is not a TCP port: give one in 1-65535 (default {DEFAULT_PORT})")
    if catalog is not None:
        from ..catalog import Catalog

        Catalog.open(catalog)  # raises CatalogError (a ValueError) that says what is wrong
    if importlib.util.find_spec("voila") is None:
        print("tlsviz explore needs Voilà: pip install 'tlsviz[notebook]' (or pip install voila)", file=sys.stderr)
        return 1
    if not _port_free(host, port):
        print(f"tlsviz explore: port {port} on {host} is in use: choose another with --port", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="tlsviz-explore-") as tmp:
        import nbformat

        notebook = Path(tmp) / "tlsviz-explorer.ipynb"
        nbformat.write(app_notebook(catalog), notebook)
        proc = subprocess.Popen(voila_command(notebook, port, host), cwd=tmp, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        # Voilà is in its own session: a closed terminal (SIGHUP) or a kill (SIGTERM) must stop it too
        handlers = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)
                    if hasattr(signal, sig.name)}
        try:
            deadline = time.monotonic() + READY_TIMEOUT
            while not _listening(host, port):
                if proc.poll() is not None:
                    print(f"tlsviz explore: Voilà exited with code {proc.returncode} (its messages are above)",
                          file=sys.stderr)
                    return proc.returncode or 1
                if time.monotonic() > deadline:
                    print(f"tlsviz explore: Voilà did not listen on {host}:{port} within {READY_TIMEOUT:.0f} s",
                          file=sys.stderr)
                    return 1
                time.sleep(0.2)
            what = "the demo catalogue" if catalog is None else str(catalog)
            print(f"tlsviz explorer on {what}: open http://{host}:{port}/ in a browser "
                  f"(each visit starts its own kernel; Ctrl-C stops the server)", flush=True)
            rc = proc.wait()
            print(f"tlsviz explore: Voilà exited with code {rc}", file=sys.stderr)
            return rc or 1
        except KeyboardInterrupt:
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C waits for the stop
            try:
                print("\ntlsviz explore: stopping the server", flush=True)
                _stop(proc)
            finally:
                signal.signal(signal.SIGINT, previous)
            print("tlsviz explore: stopped", flush=True)
            return 0
        finally:
            _stop(proc)  # nothing left running, whatever happened (no-op once stopped)
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
