"""The README's two install commands, in either order, in one virtualenv.

`pip install .` then `pip install -e .` used to leave ``site-packages/tlsviz/`` behind: numba
wrote its cache files next to the installed sources, pip did not know them, and the
directory left over (a namespace package) hid the editable install ("cannot import name
'__version__' from 'tlsviz' (unknown location)"). numba's cache now lives in a user cache
directory (tlsviz/_numba_cache.py).

Cheap versions of the README's commands: fresh virtualenvs whose dependencies are the running
environment's (a .pth file to symlinks of its site-packages, tlsviz left out), installs with
``--no-deps --no-build-isolation --no-index`` (setuptools >= 68 and wheel, which the build
needs, put once into a folder from pip's cache), and one small compiled call instead of a
search. Cost: ~30 s.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

import pytest

import tlsviz

ROOT = Path(__file__).parents[1]
#: One small compiled call (geometry._distance, cached on disk) and where tlsviz was imported from.
TINY = ("import tlsviz; s = tlsviz.KobAndersen(n=65); x = s.random_positions(seed=0); "
        "print(round(s.distance(x, x + 0.1), 6), tlsviz.__file__)")


@pytest.fixture(scope="module")
def deps(tmp_path_factory):
    """Folders for the virtualenvs' .pth file: the build backend, and the running environment's
    packages without tlsviz (and without its old setuptools)."""
    root = tmp_path_factory.mktemp("deps")
    build = root / "build"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target",
                    str(build), "setuptools>=68", "wheel"], check=True, capture_output=True, timeout=300)
    env = root / "env"
    env.mkdir()
    skip = ("tlsviz", "__editable__", "setuptools", "_distutils_hack", "pkg_resources", "wheel")
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(skip) and entry.suffix != ".pth":
            (env / entry.name).symlink_to(entry)
    return [build, env]


@pytest.fixture
def source(tmp_path):
    """A copy of what `pip install .` reads: pyproject.toml, README.md, tlsviz/ (no caches)."""
    src = tmp_path / "tlsviz-src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "tlsviz", src / "tlsviz",
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc", "*.pyc"))
    return src


class Env:
    """A fresh virtualenv with the dependencies of the running one and its own numba cache."""

    def __init__(self, path: Path, deps):
        venv.create(path, with_pip=False)
        self.py = path / "bin" / "python"
        self.site = Path(subprocess.run([str(self.py), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                                             "['purelib'])"], capture_output=True, text=True,
                                        check=True).stdout.strip())
        (self.site / "_deps.pth").write_text("".join(f"{d}\n" for d in deps))
        self.cwd = path  # not the source folder: `import tlsviz` must find the installed one
        self.env = {**os.environ, "PATH": f"{path / 'bin'}{os.pathsep}{os.environ['PATH']}",
                    "VIRTUAL_ENV": str(path), "XDG_CACHE_HOME": str(path / "cache")}
        for name in ("PYTHONPATH", "NUMBA_CACHE_DIR", "PIP_REQUIRE_VIRTUALENV"):
            self.env.pop(name, None)

    def run(self, *cmd) -> str:
        proc = subprocess.run([str(c) for c in cmd], cwd=self.cwd, env=self.env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, f"{' '.join(map(str, cmd))}:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def pip_install(self, *args):
        self.run(self.py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
                 "--no-build-isolation", "--no-index", *args)

    def tiny(self) -> Path:
        """Run the compiled call; return the tlsviz/__init__.py it imported."""
        value, where = self.run(self.py, "-c", TINY).split()
        assert float(value) == 0.0  # a global translation is no displacement
        return Path(where)


@pytest.mark.slow
def test_install_then_editable(deps, source, tmp_path):
    """The README's order: `pip install . && tlsviz search`, then `pip install -e '.[test]'`."""
    env = Env(tmp_path / "venv", deps)
    env.pip_install(str(source))
    assert env.tiny() == env.site / "tlsviz" / "__init__.py"
    assert list((tmp_path / "venv" / "cache" / "tlsviz" / "numba").rglob("geometry._distance-*.nbi"))
    env.pip_install("-e", f"{source}[test]")
    assert not (env.site / "tlsviz").exists(), sorted(map(str, (env.site / "tlsviz").rglob("*")))
    assert env.tiny() == source / "tlsviz" / "__init__.py"
    assert env.run(tmp_path / "venv" / "bin" / "tlsviz", "--version").strip() == f"tlsviz {tlsviz.__version__}"


@pytest.mark.slow
def test_editable_then_install(deps, source, tmp_path):
    """The other order: `pip install -e '.[test]' && python -m pytest`, then `pip install .`;
    and an uninstall leaves nothing."""
    env = Env(tmp_path / "venv", deps)
    env.pip_install("-e", f"{source}[test]")
    assert env.tiny() == source / "tlsviz" / "__init__.py"
    assert not list(source.rglob("*.nbi")), "numba's cache must not be written into the sources"
    env.pip_install(str(source))
    assert env.tiny() == env.site / "tlsviz" / "__init__.py"
    assert env.run(tmp_path / "venv" / "bin" / "tlsviz", "--version").strip() == f"tlsviz {tlsviz.__version__}"
    env.run(env.py, "-m", "pip", "uninstall", "-y", "-q", "tlsviz")
    assert not (env.site / "tlsviz").exists()


def test_numba_cache_is_keyed_by_the_kernel_sources(tmp_path):
    """numba checks a cached kernel against its own file's timestamp only (a kernel that inlines
    code from another file kept the old code after an edit there): the cache directory is keyed
    by the kernels' sources, so any edit of them starts a fresh cache, and an edit elsewhere does
    not; old caches are pruned, recent ones kept."""
    from tlsviz._numba_cache import PACKAGE, prune_caches, source_key

    pkg = tmp_path / "tlsviz"
    shutil.copytree(PACKAGE, pkg, ignore=shutil.ignore_patterns("__pycache__", "data", "*.nb?", "*.pyc"))
    key = source_key(pkg)
    assert key == source_key(PACKAGE) and len(key) == 16
    readme = pkg / "widgets" / "table.py"
    readme.write_text(readme.read_text() + "\n# an edit that no kernel is made of\n")
    assert source_key(pkg) == key
    engine = pkg / "engine" / "potential.py"
    engine.write_text(engine.read_text() + "\n# an edit of a kernel's source\n")
    assert source_key(pkg) != key

    root = tmp_path / "cache"
    now = time.time()
    ages = {f"src-{k:016x}": age for k, age in enumerate([0, 10, 20, 30, 40, 2e5, 3e5, 4e5, 5e5, 6e5, 1e6])}
    ages["engine_0123"] = 2e6  # the layout before the key
    for name, age in ages.items():
        (root / name).mkdir(parents=True)
        os.utime(root / name, (now - age, now - age))
    current = root / "src-current"
    current.mkdir()
    removed = {p.name for p in prune_caches(root, current, keep=4, min_age_s=86400)}
    left = {p.name for p in root.iterdir()}
    # the current one and the 3 newest others stay; of the older, those used within a day too
    assert left == {"src-current"} | {f"src-{k:016x}" for k in range(5)}
    assert removed == set(ages) - left

    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    out = subprocess.run([sys.executable, "-c", "import tlsviz, numba; print(numba.config.CACHE_DIR)"],
                         env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert out == str(tmp_path / "xdg" / "tlsviz" / "numba" / f"src-{key}")
