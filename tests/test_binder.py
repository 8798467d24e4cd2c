"""A fresh virtualenv made from binder/'s files imports tlsviz and opens the explorer."""

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_binder_environment(tmp_path):
    # Binder builds from the repository's committed files: those the steps below need are tracked
    # (CI runs this on a clean checkout, which holds nothing else).
    tracked = set(subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True,
                                 text=True).stdout.split())
    needed = {"binder/requirements.txt", "binder/runtime.txt", "binder/postBuild", "binder/start",
              "binder/warm_cache.py", "pyproject.toml", "tlsviz/data/demo-catalog/campaign.json"}
    assert needed <= tracked, f"not committed: {sorted(needed - tracked)}"
    # The steps run in the repository itself, not in a copy: numba's on-disk cache is keyed by
    # the sources' paths, so the kernels postBuild compiles here (~2 min on CI) are the ones the
    # rest of the test suite loads, instead of being compiled a second time for a copy.
    repo = ROOT
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    env = {**os.environ, "PATH": f"{env_dir / 'bin'}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(env_dir)}
    env.pop("PYTHONPATH", None)
    run = lambda *cmd: subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True, text=True)
    run(str(py), "-m", "pip", "install", "-q", "-r", "binder/requirements.txt")
    # the suite's numba and llvmlite (the newest, as a fresh Binder build resolves them today),
    # so that the kernels compiled below are ones this process can load
    import llvmlite
    import numba

    run(str(py), "-m", "pip", "install", "-q", f"numba=={numba.__version__}", f"llvmlite=={llvmlite.__version__}")
    assert (repo / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    assert sys.version_info[:2] == (3, 11)
    out = run("bash", "binder/postBuild").stdout
    assert "numba kernels compiled and cached" in out
    check = run(str(py), "-c", "import nglview, tlsviz, voila; from tlsviz.widgets import Explorer; ex = Explorer(); "
                               "print(nglview.__version__, len(ex.model.structures), len(ex.model.table))")
    version, n_is, n_dwps = check.stdout.split()
    assert version == "4.0" and int(n_is) == 30 and int(n_dwps) >= 10
    assert (repo / "binder" / "start").read_text().rstrip().endswith('exec "$@"')
