"""The documentation stays true and self-contained: the README's Python example runs and shows a
DWP, a missing DWP is a clear error, and every citation of the method points into the repository
(docs/method.md, with sections that exist)."""

import contextlib
import io
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
METHOD = ROOT / "docs" / "method.md"


def readme_python_blocks(section: str = "## Python") -> list[str]:
    """The ```python blocks of one section of README.md (up to the next "## " heading)."""
    text = README.read_text()
    start = text.index(section + "\n")
    end = text.find("\n## ", start + len(section))
    body = text[start:end if end >= 0 else None]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


def test_readme_python_example_finds_a_dwp(tmp_path, monkeypatch):
    """Runs the README's "Python" section as written (a real search: ~10 s once compiled)."""
    blocks = readme_python_blocks()
    assert len(blocks) >= 2, "the README's Python section lost its example blocks"
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for code in blocks:
            exec(compile(code, str(README), "exec"), ns)
    res, system = ns["res"], ns["system"]
    assert system.modes(ns["ims"][0].positions).n_negative == 0
    assert len(res.dwps) >= 1, "the README's example found no DWP"
    assert re.search(rf"IS {ns['k']}: {len(res.dwps)} DWP\(s\)", out.getvalue())
    path = res.path(0)
    assert path.shape == (41, system.n_particles, 3)
    assert np.array_equal(path[20], res.saddle(0))
    assert system.modes(res.saddle(0)).n_negative == 1
    for col in ("asymmetry", "barrier", "d", "d_mw", "d_rp", "d_mwrp", "central_type", "pr1", "pr4", "count"):
        assert col in res.dwps.columns
    assert "reason" in res.dismissed.columns


def _result(n_dwps: int):
    from tlsviz.search import SearchParams, SearchResult

    x = np.zeros((65, 3))
    return SearchResult(is_positions=x, is_energy=0.0, params=SearchParams(),
                        dwps=pd.DataFrame({"asymmetry": np.zeros(n_dwps)}),
                        dismissed=pd.DataFrame({"reason": []}),
                        stats=dict(tries=400, back_to_is=400, box=3.8),
                        minima_positions=[x] * n_dwps, saddle_positions=[x] * n_dwps,
                        paths=[np.zeros((41, 65, 3))] * n_dwps)


def test_missing_dwp_says_which_exist():
    with pytest.raises(IndexError, match=r"no DWP 0: this search found none \(400 of 400 tries quenched back"):
        _result(0).path(0)
    res = _result(2)
    for method in (res.path, res.saddle, res.minimum, res.displacements):
        with pytest.raises(IndexError, match=r"no DWP 2: this search found 2, rows 0\.\.1"):
            method(2)
    assert res.path(-1).shape == (41, 65, 3)  # Python's negative rows still work
    with pytest.raises(TypeError, match="row number"):
        res.path(1.0)


# the strings are split so that this file does not match itself
FORBIDDEN = ("model-and-" + "method", "../" + "shared", "/work/" + "shared", "shared/" + "notes",
             "shared/" + "spec", "shared/" + "data", "spec " + "§")


def repo_files() -> list[Path]:
    """The repository's files: tracked and untracked-but-not-ignored (git), else a walk that skips
    virtualenvs, caches and build output."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, check=True).stdout
        files = [ROOT / name for name in out.decode().split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        skip = {".git", ".venv", ".ci-venv", "__pycache__", ".pytest_cache", "build", "dist"}
        files = [p for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.relative_to(ROOT).parts)
                 and not any(part.endswith(".egg-info") for part in p.parts)]
    return [p for p in files if p.is_file()]


def test_repository_cites_nothing_outside_itself():
    """The method is docs/method.md: no file may point to a document that is not in the repository."""
    files = repo_files()
    assert any(p.name == "method.md" for p in files) and len(files) > 50
    hits = []
    for p in files:
        data = p.read_bytes()
        hits += [f"{p.relative_to(ROOT)}: {s}" for s in FORBIDDEN if s.encode() in data]
    assert not hits, "cite docs/method.md (or another file of the repository) instead:\n" + "\n".join(hits)


def method_sections() -> set[str]:
    """Section numbers of docs/method.md: "1" … "9" from "## 1. …", "7.1" … from "### 7.1 …"."""
    return set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", METHOD.read_text(), flags=re.M))


def test_method_citations_name_sections_that_exist():
    sections = method_sections()
    assert {"1", "2", "3", "4", "5", "6", "7", "7.1", "7.9", "8", "9"} <= sections
    cited = []
    for p in repo_files():
        if p.suffix not in (".py", ".md", ".ipynb", ".txt", ".toml"):
            continue
        for m in re.finditer(r"docs/method\.md`? §(\d+(?:\.\d+)?)(?:[–-](\d+(?:\.\d+)?))?", p.read_text()):
            first, last = m.group(1), m.group(2)
            nums = [first] if last is None else [str(k) for k in range(int(first), int(float(last)) + 1)]
            cited += [(p.relative_to(ROOT), n) for n in nums]
    assert len(cited) > 20  # the package, tests, benchmarks and docs cite it
    missing = sorted({f"{p}: §{n}" for p, n in cited if n not in sections})
    assert not missing, f"sections not in docs/method.md: {missing}"


def test_readme_glossary_defines_the_terms_of_the_help_texts():
    text = README.read_text()
    assert "\n## Glossary\n" in text
    glossary = text.split("\n## Glossary\n", 1)[1].split("\n## ", 1)[0]
    terms = {row.split("|")[1].strip() for row in glossary.splitlines() if row.startswith("| ")}
    for term in ("IS", "try, M", "d", "d_mw", "d_rp", "d_mw,rp", "σ, ε, τ", "Δ", "V", "PR", "central particle",
                 "Δ₀", "λ", "TLS", "DWP", "T_search, N_search", "windows", "2 × N"):
        assert term in terms, f"the README's glossary does not define {term!r}"
