"""The tlsviz command line: a small real run, fast --help, and every failure a user can cause
answered in one or two lines (no traceback, exit != 0) that leave nothing behind to block a retry."""

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tlsviz
from tlsviz import cli
from tlsviz.cli import main

from fake_catalog import disp, make_catalog

DEMO = Path(tlsviz.__file__).parent / "data" / "demo-catalog"
#: The cheapest real campaign: 1 IS, 5 tries, 1 τ of burn-in (well under a second, kernels cached).
TINY = ["--minima", "1", "--tries", "5", "--burn-in", "1", "--seed", "3"]


def run_cli(argv, capsys):
    """(exit code, stdout, stderr) of main(argv); an exception escaping main fails the test."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def message_lines(err: str) -> list[str]:
    """The lines of stderr a terminal shows (a progress bar line overwritten by \\r is gone)."""
    return [line.split("\r")[-1] for line in err.splitlines() if line.split("\r")[-1].strip()]


def test_search_writes_a_catalogue(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["search", "--minima", "1", "--tries", "30", "--burn-in", "10", "--seed", "3",
                 "--out", str(out)]) == 0
    minima = pd.read_parquet(out / "minima.parquet")
    assert list(minima.is_id) == [0] and minima.tries[0] == 30
    dwps = pd.read_parquet(out / "dwps.parquet")
    assert {"asymmetry", "barrier", "d_mwrp", "central_type", "count"} <= set(dwps.columns)
    assert str(out) in capsys.readouterr().out


def test_minima_command(capsys):
    assert main(["minima", "--minima", "1", "--burn-in", "10"]) == 0
    assert "IS 0: E = " in capsys.readouterr().out


def test_help_defaults_are_the_library_defaults():
    """--help shows defaults written in cli.py (no heavy import before parsing): they must be
    the library's."""
    from tlsviz.search import SearchParams
    from tlsviz.system import IS_BURN_IN

    params = dataclasses.asdict(SearchParams())
    assert {k: params[k] for k in cli.SEARCH_DEFAULTS} == cli.SEARCH_DEFAULTS
    assert cli.BURN_IN_DEFAULT == IS_BURN_IN
    from tlsviz.campaign import CHAIN_BURN_IN, CHAIN_SPACING

    assert (cli.CHAIN_BURN_IN_DEFAULT, cli.CHAIN_SPACING_DEFAULT) == (CHAIN_BURN_IN, CHAIN_SPACING)
    system = tlsviz.KobAndersen()
    assert (system.density, system.rc) == (cli.DENSITY, cli.CUTOFF)
    tlsviz.KobAndersen(n=cli.N_MIN)
    with pytest.raises(ValueError, match=f"Use n >= {cli.N_MIN}"):
        tlsviz.KobAndersen(n=cli.N_MIN - 1)
    with pytest.raises(ValueError, match=f"Use n >= {cli.N_MIN}"):
        tlsviz.KobAndersen(n=1)


def test_help_is_fast_and_imports_nothing_heavy():
    """Every --help in a fresh interpreter: numba, pandas, scipy not imported (was 1.7-2.1 s on
    the 2-core machine, 0.05-0.2 s now). Cost: ~1 s."""
    commands = [[], ["search"], ["minima"], ["info"], ["tune"], ["export"], ["report"]]
    code = ("import sys, time; t = time.perf_counter(); from tlsviz.cli import main\n"
            "for argv in %r:\n"
            "    try: main(argv + ['--help'])\n"
            "    except SystemExit: pass\n"
            "heavy = sorted(m for m in ('numba', 'pandas', 'scipy', 'matplotlib', 'h5py') if m in sys.modules)\n"
            "print('RESULT', heavy, time.perf_counter() - t, file=sys.stderr)" % commands)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    heavy, seconds = proc.stderr.split("RESULT ")[1].rsplit(" ", 1)
    assert heavy == "[]", f"--help imported {heavy}"
    assert float(seconds) < 1.0


@pytest.mark.parametrize("argv, message", [
    (["search", "--tries", "0"], "--tries: expected a number >= 1"),
    (["search", "--n", "20"], "--n: expected a number >= 56"),
    (["search", "--n", "1"], "--n: expected a number >= 56"),
    (["search", "--n", "2"], "--n: expected a number >= 56"),
    (["search", "--t-search", "-1"], "--t-search: expected a temperature > 0"),
    (["search", "--t-search", "0"], "--t-search: expected a temperature > 0, got 0"),
    (["search", "--t-equil", "0"], "--t-equil: expected a temperature > 0, got 0"),
    (["search", "--t-search", "nan"], "--t-search: expected a finite number"),
    (["search", "--n-search", "many"], "--n-search: expected a whole number"),
    (["search", "--copies", "3"], "invalid choice"),
    (["search", "--seed", "-4"], "--seed: expected a number >= 0"),
    (["search", "--threads", "0"], "--threads: expected a number >= 1"),
    (["minima", "--n", "2"], "--n: expected a number >= 56"),
    (["tune", "--t-values", "0"], "--t-values: expected a temperature > 0"),
])
def test_bad_options_exit_2_with_a_message(argv, message, capsys):
    code, _, err = run_cli(argv, capsys)
    assert code == 2
    assert message in err
    assert "SearchParams(" not in err and "resume=True" not in err


@pytest.fixture(scope="module")
def catalogues(tmp_path_factory):
    """A copy of the demo catalogue (32 DWPs), a one-IS catalogue with one DWP and one with none."""
    root = tmp_path_factory.mktemp("cats")
    demo = root / "demo"
    shutil.copytree(DEMO, demo)
    one = make_catalog(root / "one", [dict(energy=-300.0, dwps=[dict(disp=disp(65, {3: 0.3}))])]).root
    empty = make_catalog(root / "empty", [dict(energy=-300.0)]).root
    return dict(demo=demo, one=one, empty=empty)


#: (bad command, what its message says, the retry that must work); {demo}, {one}, {empty}: catalogues;
#: {tmp}: a fresh directory. A retry None: the same as the case before (nothing written is asserted).
BAD_THEN_RETRY = [
    ("search --out /proc/nope " + " ".join(TINY), "cannot create --out /proc/nope",
     "search --out {tmp}/c " + " ".join(TINY)),
    ("search --out {demo}/campaign.json/x " + " ".join(TINY), "is inside {demo}/campaign.json, which is a file",
     "search --out {tmp}/c " + " ".join(TINY)),
    ("search --out {demo}/campaign.json " + " ".join(TINY), "is a file",
     "search --out {tmp}/c " + " ".join(TINY)),
    ("search --dask tcp://127.0.0.1:1 --out {tmp}/c " + " ".join(TINY), "cannot reach the Dask scheduler",
     "search --out {tmp}/c " + " ".join(TINY)),
    ("search --dask localhost --out {tmp}/c " + " ".join(TINY), "dask must be 'local' or a scheduler address",
     "search --out {tmp}/c " + " ".join(TINY)),
    ("search --delta-min 0.6 --out {tmp}/c " + " ".join(TINY), "need 0 <= delta_min < delta_max (got delta_min",
     "search --out {tmp}/c " + " ".join(TINY)),
    ("search --out {demo} " + " ".join(TINY), "already holds a campaign: continue it with --resume",
     "search --out {tmp}/c " + " ".join(TINY)),
    ("search --out {demo} --resume " + " ".join(TINY), "was written with other parameters",
     "search --out {tmp}/c " + " ".join(TINY)),
    ("minima --out {demo}/campaign.json/x.npz --minima 1 --burn-in 1", "{demo}/campaign.json is a file",
     "minima --out {tmp}/m.npz --minima 1 --burn-in 1"),
    ("minima --out {tmp}/m.txt --minima 1 --burn-in 1", "ending in .npz",
     "minima --out {tmp}/m.npz --minima 1 --burn-in 1"),
    ("export {demo} --out {demo}/campaign.json --dwp 0", "--out {demo}/campaign.json is a file",
     "export {demo} --out {tmp}/x --dwp 0"),
    ("export {demo} --out /proc/x --dwp 0", "cannot create --out /proc/x", "export {demo} --out {tmp}/x --dwp 0"),
    ("export {demo} --out {tmp}/x --dwp 99", "--dwp 99 is out of range: the catalogue has 32 DWPs",
     "export {demo} --out {tmp}/x --dwp 31"),
    ("export {empty} --out {tmp}/x", "has no DWPs", "export {one} --out {tmp}/x"),
    ("export /nonexistent/catalog --out {tmp}/x", "is not a directory", "export {one} --out {tmp}/x"),
    ("export {demo}/parts --out {tmp}/x", "campaign.json is missing", "export {one} --out {tmp}/x"),
    ("report {one} --out /proc/x", "cannot create --out /proc/x", "report {one} --out {tmp}/r"),
    # (a report costs ~5 s: the retry of the first report case stands for these two)
    ("report {one} --out {demo}/campaign.json", "is a file", None),
    ("report {one} --label a --label b --out {tmp}/r", "2 --label for 1 catalogues", None),
    ("info /nonexistent/catalog", "is not a directory", "info {demo}"),
    ("search --threads 100000 --minima 1 --tries 5 --burn-in 1 --out {tmp}/t", "--threads: threads must be a whole "
     "number from 1 to", None),
]


@pytest.mark.parametrize("bad, message, retry", BAD_THEN_RETRY, ids=[b.split(" --")[0] + ": " + m
                                                                      for b, m, _ in BAD_THEN_RETRY])
def test_every_failure_is_short_and_a_retry_works(bad, message, retry, catalogues, tmp_path, capsys):
    """Cost: ~0.1 s per case, ~0.5 s for a search retry (1 IS, 5 tries), ~5-9 s the report retry;
    ~15 s in all."""
    fill = lambda text: text.format(tmp=tmp_path, **catalogues).split()
    before = sorted(p.name for p in tmp_path.iterdir())
    demo_files = sorted(str(p) for p in catalogues["demo"].rglob("*"))
    t0 = time.perf_counter()
    code, out, err = run_cli(fill(bad), capsys)
    assert code not in (0, None)
    assert "Traceback" not in out + err
    lines = message_lines(err)
    assert 1 <= len(lines) <= 2, err
    assert message.format(tmp=tmp_path, **catalogues) in lines[-1]
    assert "resume=True" not in err and "SearchParams(" not in err
    # nothing half-made: the failure wrote nothing here nor into the catalogue
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert sorted(str(p) for p in catalogues["demo"].rglob("*")) == demo_files
    if "--dask tcp://127.0.0.1:1" in bad:
        assert time.perf_counter() - t0 < 10, "an unreachable scheduler must fail fast"
    if retry is None:
        return
    code, out, err = run_cli(fill(retry), capsys)
    assert code == 0, err
    assert "Traceback" not in err


def test_no_traceback_in_a_real_process(tmp_path):
    """An unreachable Dask scheduler through the entry point, in a subprocess (Dask's threads and
    loggers included): two lines, exit 2, nothing left. Cost: ~4 s."""
    argv = ["search", "--dask", "tcp://127.0.0.1:1", "--out", str(tmp_path / "d")]
    proc = subprocess.run([sys.executable, "-m", "tlsviz", *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "cannot reach the Dask scheduler" in proc.stderr
    assert len(message_lines(proc.stderr)) <= 2
    assert not (tmp_path / "d").exists()


def test_internal_errors_are_one_short_message(monkeypatch, capsys):
    """A bug (an unexpected exception) is reported in two lines, with how to see the traceback."""
    def broken(args):
        raise RuntimeError("something unexpected")

    monkeypatch.setattr(cli, "_cmd_info", broken)
    code, _, err = run_cli(["info", str(DEMO)], capsys)
    assert code == 1 and "internal error: RuntimeError: something unexpected" in err
    assert "TLSVIZ_TRACEBACK=1" in err and len(message_lines(err)) == 2
    monkeypatch.setenv("TLSVIZ_TRACEBACK", "1")
    with pytest.raises(RuntimeError):
        main(["info", str(DEMO)])


def test_md_blow_up_says_so_and_what_works(capsys):
    """--t-equil 3: the MD with dt = 0.01 blows up; the message says so and names the range that
    works (measured: stable at 1.5). Cost: ~1 s."""
    code, _, err = run_cli(["minima", "--t-equil", "3", "--minima", "1", "--burn-in", "100"], capsys)
    assert code == 2
    assert "the MD at T = 3 blew up" in err and "use T_equil <= 1.5" in err
    assert "particles [" not in err
    assert len(message_lines(err)) <= 2


def test_minima_reproduces_a_campaigns_structures(tmp_path, capsys):
    """`tlsviz minima` with a campaign's options writes the campaign's IS (same bits). Cost: ~2 s."""
    cat_dir, npz = tmp_path / "cat", tmp_path / "is.npz"
    assert main(["search", "--minima", "2", "--tries", "5", "--burn-in", "1", "--seed", "3",
                 "--out", str(cat_dir)]) == 0
    assert main(["minima", "--minima", "2", "--burn-in", "1", "--seed", "3", "--out", str(npz)]) == 0
    assert str(npz.resolve()) in capsys.readouterr().out
    cat = tlsviz.Catalog.open(cat_dir)
    with np.load(npz) as f:
        assert f["positions"].shape == (2, 65, 3) and float(f["box"]) == cat.system().box
        for i in range(2):
            assert np.array_equal(f["positions"][i], cat.positions("is", i))
            assert f["energy"][i] == cat.minima.energy[i]
    assert not list(tmp_path.glob(".tmp-*"))


def test_minima_and_search_with_chains_make_the_same_structures(tmp_path, capsys):
    """`--chains 2 --spacing 5`: `tlsviz minima` (carrying each chain from IS to IS) writes the
    IS of `tlsviz search` with the same options, and the resume command keeps the chain options.
    Cost: ~3 s."""
    opts = ["--minima", "3", "--burn-in", "2", "--seed", "4", "--chains", "2", "--spacing", "5"]
    cat_dir, npz = tmp_path / "cat", tmp_path / "is.npz"
    assert main(["search", "--tries", "5", *opts, "--out", str(cat_dir)]) == 0
    assert main(["minima", *opts, "--out", str(npz)]) == 0
    assert "2 chains, spacing 5 τ" in capsys.readouterr().out
    cat = tlsviz.Catalog.open(cat_dir)
    assert (cat.params["chains"], cat.params["spacing"], cat.params["burn_in"]) == (2, 5.0, 2.0)
    with np.load(npz) as f:
        assert int(f["chains"]) == 2
        for i in range(3):
            assert np.array_equal(f["positions"][i], cat.positions("is", i))
    from tlsviz.cli import _resume_command

    command = _resume_command(cat)
    assert "--chains 2" in command and "--spacing 5" in command and "--burn-in 2" in command
    import shlex

    assert main(shlex.split(command)[1:]) == 0  # the command resumes (nothing left to do)
    assert main(["info", str(cat_dir)]) == 0
    assert "IS after 2 τ of burn-in along 2 chains, 5 τ apart" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["search", "--spacing", "5", "--out", str(tmp_path / "no")])
    assert exit_.value.code == 2
    assert "--spacing is the time between the IS of one chain: give --chains too" in capsys.readouterr().err


def test_the_resume_command_resumes_campaigns_made_through_the_api(tmp_path, capsys):
    """The command `tlsviz info` prints to resume a campaign is accepted for a campaign made
    through the API with chains = 0 and an unused, non-default spacing, and for one whose
    burn-in has more digits than %g shows; a catalogue without chains stays schema version 1."""
    import json
    import shlex

    from tlsviz.campaign import CampaignConfig, run_campaign
    from tlsviz.cli import _resume_command

    for name, extra in (("spacing", dict(spacing=700.0)), ("digits", dict(burn_in=1.2345678))):
        out = tmp_path / name
        run_campaign(CampaignConfig(minima=1, tries=5, seed=2, **{"burn_in": 1.0, **extra}), out)
        assert json.loads((out / "campaign.json").read_text())["schema_version"] == 1
        command = _resume_command(tlsviz.Catalog.open(out))
        assert "--spacing" not in command and "--chains" not in command
        assert main(shlex.split(command)[1:]) == 0, command
    capsys.readouterr()


def test_tune_does_not_call_a_tie_best(capsys, monkeypatch):
    """Points within one standard error of the top are reported as a tie (the cheapest named),
    nothing found says so; 'best' only for a point that stands out. The scan is stubbed."""
    import tlsviz.search as search

    def table(by_point):
        rows = [dict(t_search=t, n_search=n, distinct_per_is=float(np.mean(v)),
                     distinct_per_is_err=float(np.std(v, ddof=1) / np.sqrt(len(v))), distinct_by_is=tuple(v),
                     distinct_per_try=0.0, back_to_is=0.0, outside_windows=0.0, seconds_per_try=0.0)
                for (t, n), v in by_point.items()]

        def scan(*args, callback, **kwargs):
            for row in rows:
                callback(row)
            return pd.DataFrame(rows)

        return scan

    class FakeSystem:
        def __init__(self, **kw):
            pass

        def inherent_structures(self, count, **kw):
            return [tlsviz.QuenchResult(np.zeros((65, 3)), -300.0, 0.0, 1, 1, True)] * count

    monkeypatch.setattr(cli, "_numba_cold", lambda: False)
    monkeypatch.setattr("tlsviz.system.KobAndersen", FakeSystem)
    argv = ["tune", "--minima", "3", "--t-values", "0.5", "1.0", "--n-values", "50", "100"]
    cases = {
        "tie": ({(0.5, 50): [2, 3, 2], (0.5, 100): [3, 2, 3], (1.0, 50): [2, 3, 3], (1.0, 100): [3, 3, 2]},
                "4 of 4 points are within one standard error", "cheapest of them: --t-search 1 --n-search 50"),
        "none": ({(0.5, 50): [0, 0, 0], (0.5, 100): [0, 0, 0], (1.0, 50): [0, 0, 0], (1.0, 100): [0, 0, 0]},
                 "no point found a nearby minimum", None),
        "clear": ({(0.5, 50): [0, 0, 1], (0.5, 100): [1, 0, 0], (1.0, 50): [0, 1, 0], (1.0, 100): [9, 10, 11]},
                  "best: --t-search 1 --n-search 100", None),
    }
    for name, (points, says, also) in cases.items():
        monkeypatch.setattr(search, "scan_search_parameters", table(points))
        code, out, _ = run_cli(argv, capsys)
        assert code == 0 and says in out, (name, out)
        if also:
            assert also in out
        if name != "clear":
            assert "best:" not in out


def test_info_groups_dismissed_reasons_by_kind(capsys):
    """One line per kind of reason, its numbers as a range over the group (the demo catalogue:
    9 pairs over d_max with nine different d_mw,rp were nine lines)."""
    code, out, _ = run_cli(["info", str(DEMO)], capsys)
    assert code == 0
    lines = [line.strip() for line in out.splitlines() if "dismissed:" in line]
    reasons = tlsviz.Catalog.open(DEMO).dismissed.reason
    over = reasons[reasons.str.startswith("d_mw,rp = ")]
    values = over.str.extract(r"d_mw,rp = ([0-9.]+)")[0].astype(float)
    assert len(over) >= 3 and values.nunique() >= 3
    assert f"dismissed: {len(over)} x d_mw,rp = {values.min():g} to {values.max():g} is not below d_max = 0.8" in lines
    # a kind is the reason with its numbers left out ("connects a third minimum (E = … ε, … ε below
    # the IS)" is one kind whatever the energies)
    kinds = {re.sub(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", "#", r) for r in reasons}
    assert len(kinds) < len(set(reasons)) and len(lines) == len(kinds)
    assert sum(int(line.split("dismissed: ")[1].split(" x ")[0]) for line in lines) == len(reasons)


def test_progress_says_when_numba_compiles(tmp_path, monkeypatch, capsys):
    """A cold cache (an empty NUMBA_CACHE_DIR) is recognised and the bar says so; the warm one not."""
    assert main(["search", *TINY, "--out", str(tmp_path / "warm")]) == 0  # the kernels are cached now
    assert COMPILING_NOTE not in capsys.readouterr().err
    assert not cli._numba_cold()
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "empty-cache"))
    assert cli._numba_cold()
    monkeypatch.setattr(cli, "_numba_cold", lambda: True)
    assert main(["search", *TINY, "--out", str(tmp_path / "cold")]) == 0
    assert COMPILING_NOTE in capsys.readouterr().err


COMPILING_NOTE = "compiling kernels, first run only"


@pytest.mark.parametrize("argv", [["minima", "--minima", "3"], ["tune", "--minima", "1", "--tries", "20"],
                                  ["report", str(DEMO), "--out", "{tmp}/r"]], ids=["minima", "tune", "report"])
def test_ctrl_c_is_one_line_and_130(argv, tmp_path):
    """Ctrl-C (SIGINT to the process group) at a random moment, also during the heavy imports:
    exit 130, "interrupted", no traceback (a KeyboardInterrupt during a C extension's import
    made CPython end the process by SIGINT, status -2). Cost: ~3 s each."""
    import random
    import signal

    argv = [a.format(tmp=tmp_path) for a in argv]
    proc = subprocess.Popen([sys.executable, "-m", "tlsviz", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(random.Random(" ".join(argv[:1])).uniform(0.3, 2.5))
    assert proc.poll() is None, "the command should still run"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (proc.returncode, err)
    assert "Traceback" not in err and "interrupted" in message_lines(err)[-1]
