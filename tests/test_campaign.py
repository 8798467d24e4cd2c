"""Campaigns: round trip, kill -9 and resume, workers, Dask, damaged files, the CLI."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tlsviz
from tlsviz.campaign import CampaignConfig, run_campaign
from tlsviz.catalog import Catalog, CatalogError
from tlsviz.cli import main
from tlsviz.search import DWP_COLUMNS
from tlsviz.tunnelling import TUNNELLING_COLUMNS, tunnelling_columns

#: Small and quick: 20 τ of burn-in per IS, 40 tries.
SMALL = dict(minima=4, tries=40, burn_in=20.0, seed=5)


def assert_same_catalog(a: Catalog, b: Catalog):
    for name in ("minima", "dwps", "dismissed"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    for i in a.minima.is_id:
        assert np.array_equal(a.positions("is", i), b.positions("is", i))
    for i in range(len(a.dwps)):
        assert np.array_equal(a.path(i), b.path(i))
        assert np.array_equal(a.positions("saddle", i), b.positions("saddle", i))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted, one-worker campaign the others are compared with."""
    return run_campaign(CampaignConfig(**SMALL), tmp_path_factory.mktemp("ref") / "cat")


def test_round_trip(reference):
    cat = Catalog.open(reference.root)
    assert list(cat.minima.is_id) == [0, 1, 2, 3]
    for col in ("is_id", "energy", "grad_norm"):
        assert col in cat.minima.columns
    for col in ("is_id", "is_energy", "asymmetry", "barrier", "barrier_from_is", "d", "d_mw", "d_rp",
                "d_mwrp", "central_index", "central_type", "pr1", "pr2", "pr3", "pr4", "count", "tries"):
        assert col in cat.dwps.columns
    assert "reason" in cat.dismissed.columns
    with pytest.raises(ValueError, match="kind must be"):
        cat.positions("transition", 0)
    assert cat.params["seed"] == 5 and cat.params["search"]["t_search"] == tlsviz.SearchParams().t_search
    assert cat.params["tlsviz_version"] == tlsviz.__version__
    system = cat.system()
    for _, row in cat.minima.iterrows():
        x = cat.positions("is", row.is_id)
        assert x.shape == (65, 3)
        assert system.energy(x) == pytest.approx(row.energy, abs=1e-9)
    assert len(cat.dwps) >= 1, "the small campaign should find at least one DWP"
    for i, row in cat.dwps.iterrows():
        assert system.energy(cat.positions("saddle", i)) == pytest.approx(row.saddle_energy, abs=1e-9)
        assert system.energy(cat.positions("minimum", i)) == pytest.approx(row.min_energy, abs=1e-9)
        assert np.array_equal(cat.positions("second_minimum", i), cat.positions("minimum", i))
        assert cat.path(i).shape == (41, 65, 3)
        amp = np.linalg.norm(cat.displacements(i), axis=1)
        assert np.argmax(amp) == row.central_index
    # a campaign's tables equal a direct search of its IS
    i = int(cat.dwps.is_id.iloc[0])
    direct = tlsviz.search_dwps(system, cat.positions("is", i), tries=40, seed=5, is_id=i)
    stored = cat.dwps[cat.dwps.is_id == i].reset_index(drop=True)
    pd.testing.assert_frame_equal(direct.dwps, stored[DWP_COLUMNS])
    # and the tunnelling columns stored beside them are those of the stored paths
    for k in range(len(stored)):
        j = int(np.flatnonzero((cat.dwps.is_id == i).to_numpy())[k])
        want = tunnelling_columns(cat.path_arclength(j), cat.path_energies(j))
        np.testing.assert_allclose([stored[c].iloc[k] for c in TUNNELLING_COLUMNS], list(want.values()))


def test_no_pickle_in_a_catalogue(reference):
    for f in Path(reference.root).rglob("*"):
        if f.is_file():
            assert f.suffix in {".parquet", ".h5", ".json", ""}, f


def test_two_workers_give_the_same_catalogue(reference, tmp_path):
    cat = run_campaign(CampaignConfig(**SMALL), tmp_path / "w2", workers=2)
    assert_same_catalog(reference, cat)


def test_dask_local_cluster_gives_the_same_catalogue(reference, tmp_path):
    cat = run_campaign(CampaignConfig(**SMALL), tmp_path / "dask", workers=2, dask="local")
    assert_same_catalog(reference, cat)


def test_kill_9_then_resume_gives_the_same_catalogue(reference, tmp_path):
    out = tmp_path / "killed"
    args = [sys.executable, "-m", "tlsviz", "search", "--minima", "4", "--tries", "40",
            "--burn-in", "20", "--seed", "5", "--out", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = out / "parts"
    deadline = time.time() + 120
    while time.time() < deadline:
        done = [p for p in parts.glob("is_*")] if parts.is_dir() else []
        if len(done) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_done = len(list(parts.glob("is_*")))
    assert 2 <= n_done < 4, "the kill should land in the middle of the campaign"
    assert not (out / "dwps.parquet").exists()
    # without --resume the directory is refused; with it the campaign completes
    with pytest.raises(SystemExit):
        main(args[3:])
    assert main(args[3:] + ["--resume"]) == 0
    assert_same_catalog(reference, Catalog.open(out))


def test_resume_skips_finished_structures(reference, tmp_path):
    out = tmp_path / "partial"
    run_campaign(CampaignConfig(**{**SMALL, "minima": 2}), out)
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "parts").iterdir()}
    seen = []
    cat = run_campaign(CampaignConfig(**SMALL), out, resume=True, progress=lambda p: seen.append(p.is_done))
    assert seen == [3, 4]  # only IS 2 and 3 were computed
    assert {p.name: p.stat().st_mtime_ns for p in (out / "parts").iterdir() if p.name in mtimes} == mtimes
    assert_same_catalog(reference, cat)


def test_two_writers_are_refused(tmp_path):
    from tlsviz.catalog import CampaignLock

    out = tmp_path / "locked"
    with CampaignLock(out):
        with pytest.raises(CatalogError, match="being written by pid"):
            run_campaign(CampaignConfig(**{**SMALL, "minima": 1}), out)


def test_damaged_and_foreign_files_are_named(reference, tmp_path):
    import shutil

    out = tmp_path / "damaged"
    shutil.copytree(reference.root, out)
    victim = out / "parts" / "is_000001" / "dwps.parquet"
    victim.write_bytes(victim.read_bytes()[:100])  # truncated
    with pytest.raises(CatalogError, match=str(victim)):
        run_campaign(CampaignConfig(**SMALL), out, resume=True)
    (out / "consolidated.json").unlink()
    with pytest.raises(CatalogError, match=str(victim)):
        Catalog.open(out).dwps
    h5 = out / "parts" / "is_000002" / "arrays.h5"
    h5.write_bytes(b"not hdf5 at all")
    with pytest.raises(CatalogError, match=str(h5)):
        Catalog.open(out).positions("is", 2)
    (out / "campaign.json").write_text("{ truncated")
    with pytest.raises(CatalogError, match="campaign.json is not valid JSON"):
        Catalog.open(out)
    (out / "campaign.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(CatalogError, match="not a tlsviz catalogue"):
        Catalog.open(out)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(CatalogError, match="not a tlsviz catalogue"):
        run_campaign(CampaignConfig(**SMALL), foreign)


def test_info_and_export(reference, tmp_path, capsys):
    assert main(["info", str(reference.root), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["minima_done"] == 4 and summary["dwps"] == len(reference.dwps)
    assert main(["info", str(reference.root)]) == 0
    assert "inherent structures: 4 of 4 done" in capsys.readouterr().out
    assert main(["export", str(reference.root), "--dwp", "0", "--out", str(tmp_path / "x")]) == 0
    xyz = next((tmp_path / "x").glob("*_path.xyz")).read_text().splitlines()
    assert xyz[0] == "65" and 'Lattice="' in xyz[1] and "displacement:R:1" in xyz[1]
    assert len(xyz) == 41 * 67
    data = next((tmp_path / "x").glob("*_saddle.data")).read_text()
    assert "65 atoms" in data and "2 atom types" in data
    # the LAMMPS data file holds the saddle (unfolded with its image flags)
    rows = [line.split() for line in data.split("Atoms # atomic")[1].strip().splitlines()]
    box = reference.system().box
    x = np.array([[float(r[2]) + int(r[5]) * box, float(r[3]) + int(r[6]) * box,
                   float(r[4]) + int(r[7]) * box] for r in rows])
    np.testing.assert_allclose(x, reference.positions("saddle", 0), atol=1e-10)


@pytest.mark.parametrize("argv, message", [
    (["search", "--workers", "0"], "--workers: expected a number >= 1"),
    (["search", "--dask", "localhost"], "dask must be 'local' or a scheduler address"),
    (["search", "--delta-min", "0.6"], "need 0 <= delta_min < delta_max"),
    (["search", "--d-max", "0"], "need 0 <= d_min < d_max"),
    (["info", "/nonexistent/catalog"], "is not a directory"),
])
def test_bad_campaign_options(argv, message, capsys, tmp_path):
    if argv[0] == "search":
        argv = argv + ["--out", str(tmp_path / "o")]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o" / "parts").exists()


def test_tune_command(capsys):
    assert main(["tune", "--minima", "1", "--tries", "8", "--t-values", "0.5", "1.0",
                 "--n-values", "30"]) == 0
    out = capsys.readouterr().out
    assert "distinct_per_is" in out
    # two points on one IS: "best" only when one point stands out, else the tie is said
    assert ("best: --t-search" in out) != ("2 of 2 points are within one standard error" in out)


def test_ctrl_c_at_random_moments_is_clean_and_resumes(reference, tmp_path):
    """SIGINT (to the process group, as Ctrl-C) at random moments of a small campaign (4 runs in
    subprocesses, one with 2 workers):
    never a traceback, exit 130 with the "interrupted ... --resume" message, and --resume
    completes to the catalogue of the uninterrupted run. Cost: ~25 s."""
    rng = np.random.default_rng(2026)
    base = ["search", "--minima", "4", "--tries", "40", "--burn-in", "20", "--seed", "5"]
    interrupted = 0
    for run, workers in enumerate([1, 1, 1, 2]):
        out = tmp_path / f"run{run}"
        argv = base + ["--out", str(out), "--workers", str(workers)]
        proc = subprocess.Popen([sys.executable, "-m", "tlsviz", *argv], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        assert proc.stdout.readline().startswith("campaign -> ")  # the checks are done, the work starts
        # the campaign takes 1.5-4 s here; with 2 workers, while both compute their first IS
        time.sleep(rng.uniform(0.0, 1.5) if workers == 1 else 0.5)
        signalled = proc.poll() is None
        if signalled:  # as a terminal's Ctrl-C: to the whole process group (the workers too)
            os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
        assert "Traceback" not in stderr and "Error" not in stderr, stderr
        if proc.returncode == 0:  # the signal came after the work was done (a fast machine)
            assert "DWPs from 4 IS written to" in stdout
        else:
            assert signalled and proc.returncode == 130, (proc.returncode, stderr)
            assert "interrupted: finished IS are saved in" in stderr and "continue with --resume" in stderr
            interrupted += len(list((out / "parts").glob("is_*"))) < 4
        assert main(argv + ["--resume"]) == 0
        assert_same_catalog(reference, Catalog.open(out))
    assert interrupted >= 2, "most interrupts should land before the campaign's end"


def test_damaged_catalogues_give_the_remedy_that_works(reference, tmp_path, capsys):
    """A truncated Parquet file in a part, a changed byte in an arrays.h5, a truncated top-level
    table, an old part (no checksums.json) with a truncated table: `info --check` names each with
    its remedy, the writer refuses damaged parts, and following the remedy (delete the part, then
    the printed resume command) gives the uninterrupted catalogue. Cost: ~5 s (2 IS recomputed)."""
    import shutil

    def cli(*argv):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err

    out = tmp_path / "d"
    shutil.copytree(reference.root, out)
    assert cli("info", out, "--check")[0] == 0

    # a truncated table in a part
    part = out / "parts" / "is_000001"
    victim = part / "minima.parquet"
    victim.write_bytes(victim.read_bytes()[:-40])
    code, _, err = cli("info", out, "--check")
    assert code == 2 and f"{victim} is damaged (truncated" in err and f"delete {part}" in err
    command = err.split("resume with: ")[1].split()
    assert command[:2] == ["tlsviz", "search"] and command[-3:] == ["--out", str(out), "--resume"]
    code, _, err = cli(*command[1:])
    assert code == 2 and f"{victim} is damaged" in err and f"delete {part}" in err  # the writer refuses
    shutil.rmtree(part)
    assert cli(*command[1:])[0] == 0
    assert_same_catalog(reference, Catalog.open(out))

    # one changed byte in the middle of an arrays.h5 (HDF5 itself need not notice)
    part = out / "parts" / "is_000002"
    h5 = part / "arrays.h5"
    data = bytearray(h5.read_bytes())
    data[len(data) // 2] ^= 0xFF
    h5.write_bytes(bytes(data))
    code, _, err = cli("info", out, "--check")
    assert code == 2 and f"{h5} is damaged (changed since it was written)" in err and f"delete {part}" in err
    with pytest.raises(CatalogError, match=f"delete {part}"):
        run_campaign(CampaignConfig(**SMALL), out, resume=True)
    shutil.rmtree(part)
    run_campaign(CampaignConfig(**SMALL), out, resume=True)
    assert_same_catalog(reference, Catalog.open(out))

    # a truncated top-level table: read from the parts meanwhile, rewritten by --resume
    table = out / "dwps.parquet"
    table.write_bytes(table.read_bytes()[:200])
    code, stdout, err = cli("info", out, "--json")
    assert code == 0 and json.loads(stdout)["dwps"] == len(reference.dwps)
    assert "warning:" in err and "reads the parts instead" in err
    code, _, err = cli("info", out, "--check")
    assert code == 2 and f"{table} is truncated or damaged: the top-level tables are copies of the parts" in err
    assert cli(*command[1:])[0] == 0
    assert cli("info", out, "--check")[0] == 0
    pd.testing.assert_frame_equal(pd.read_parquet(table), reference.dwps)

    # a part written before checksums.json: its files are parsed instead
    part = out / "parts" / "is_000003"
    (part / "checksums.json").unlink()
    assert cli("info", out, "--check")[0] == 0
    victim = part / "dismissed.parquet"
    victim.write_bytes(victim.read_bytes()[:-40])
    code, _, err = cli("info", out, "--check")
    assert code == 2 and f"{victim} is not a readable Parquet file" in err and f"delete {part}" in err


def test_path_ends_are_the_stored_minima_translated():
    """What Catalog.path documents: frame 0 is positions("is", ...) and the last frame
    positions("minimum", i), each moved as a whole by at most a few 1e-3 σ. Cost: ~0.5 s."""
    from tlsviz.demo import demo_catalog

    cat = demo_catalog()
    system = cat.system()
    for i in range(len(cat.dwps)):
        path = cat.path(i)
        for frame, x in ((path[0], cat.positions("is", int(cat.dwps.is_id.iloc[i]))),
                         (path[-1], cat.positions("minimum", i))):
            d = frame - x
            d -= system.box * np.rint(d / system.box)
            shift = d.mean(axis=0)
            assert np.abs(d - shift).max() < 1e-9 and np.abs(shift).max() < 5e-3
            assert system.distance(frame, x) < 1e-9


#: A small chain campaign: 2 chains, 20 τ of burn-in, IS 20 τ apart along a chain.
CHAINS = dict(minima=5, tries=20, burn_in=20.0, seed=3, chains=2, spacing=20.0)


def test_chain_campaign_is_the_same_for_any_workers_and_when_extended(tmp_path):
    """IS i comes from chain i mod 2 whatever runs it: one worker, two workers, or a campaign
    of 3 IS extended to 5 (each chain continues from the state stored with its last IS); a
    chain's IS is the quench of its stored MD state, and a lone call (the chain run from its
    start) makes the same IS; so does a Dask LocalCluster. Cost: ~10 s."""
    from tlsviz.campaign import campaign_is

    one = run_campaign(CampaignConfig(**CHAINS), tmp_path / "one")
    two = run_campaign(CampaignConfig(**CHAINS), tmp_path / "two", workers=2)
    assert_same_catalog(one, two)
    assert_same_catalog(one, run_campaign(CampaignConfig(**CHAINS), tmp_path / "dask", workers=2, dask="local"))
    run_campaign(CampaignConfig(**{**CHAINS, "minima": 3}), tmp_path / "grown")
    grown = run_campaign(CampaignConfig(**CHAINS), tmp_path / "grown", resume=True)
    assert_same_catalog(one, grown)
    system = one.system()
    for i in range(5):
        q = system.quench(one.is_arrays(i, "chain_x"))
        assert np.array_equal(q.positions, one.positions("is", i))
        assert one.is_arrays(i, "chain_skipped")[0] == 0
    assert np.array_equal(campaign_is(CampaignConfig(**CHAINS), 4).positions, one.positions("is", 4))
    # the IS are different minima, and IS 2 continues chain 0's MD from IS 0's stored state
    assert len({round(e, 7) for e in one.minima.energy}) == 5
    from tlsviz.system import DT, _stream_seed

    x, _ = system.nvt(one.is_arrays(0, "chain_x"), one.is_arrays(0, "chain_v"), int(round(20.0 / DT)), 0.5,
                      _stream_seed(_stream_seed(3, 300_002), 0))
    assert np.array_equal(x, one.is_arrays(2, "chain_x"))
    assert one.params["chains"] == 2 and one.params["spacing"] == 20.0 and one.params["schema_version"] == 2
    for cat in (two, grown):
        for i in range(5):
            for key in ("chain_x", "chain_v"):
                assert np.array_equal(cat.is_arrays(i, key), one.is_arrays(i, key))


def test_chain_campaign_resumes_around_deleted_parts(tmp_path):
    """Parts deleted in the middle of a chain (what `tlsviz info --check` tells a user to do
    with damaged ones) are made again from the stored state before them, whatever comes after
    them on disk, and the catalogue equals an uninterrupted one; also when extended. Cost: ~6 s."""
    import shutil

    from tlsviz.catalog import finished_parts

    config = CampaignConfig(**{**CHAINS, "minima": 7})
    whole = run_campaign(config, tmp_path / "whole")
    out = tmp_path / "gaps"
    shutil.copytree(tmp_path / "whole", out)
    for i in (2, 6):  # chain 0 is 0, 2, 4, 6: IS 4 stays on disk
        shutil.rmtree(finished_parts(out)[i])
    assert_same_catalog(whole, run_campaign(config, out, resume=True, workers=2))
    shutil.rmtree(finished_parts(out)[2])
    longer = CampaignConfig(**{**CHAINS, "minima": 9})
    assert_same_catalog(run_campaign(longer, tmp_path / "longer"), run_campaign(longer, out, resume=True))


def test_chain_skips_a_snapshot_that_repeats_the_previous_is(tmp_path, monkeypatch):
    """A snapshot that quenches to the chain's previous IS is not an IS: the chain runs on for
    another spacing and the part records the skip; a chain stuck in one minimum says so."""
    import tlsviz.search as search
    from tlsviz.campaign import ChainState, chain_is

    calls = []
    real = search.same_minimum

    def first_is_a_repeat(*args, **kwargs):
        calls.append(1)
        return True if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(search, "same_minimum", first_is_a_repeat)
    cat = run_campaign(CampaignConfig(**{**CHAINS, "minima": 3}), tmp_path / "cat")
    assert [int(cat.is_arrays(i, "chain_skipped")[0]) for i in range(3)] == [0, 0, 1]
    monkeypatch.setattr(search, "same_minimum", real)
    plain = run_campaign(CampaignConfig(**{**CHAINS, "minima": 3}), tmp_path / "plain")
    assert np.array_equal(cat.positions("is", 1), plain.positions("is", 1))
    assert not np.array_equal(cat.positions("is", 2), plain.positions("is", 2))  # one more spacing of MD

    system = cat.system()
    x = cat.positions("is", 0)  # at T_equil = 0.01 the chain never leaves this minimum
    state = ChainState(x, np.zeros_like(x), x, system.energy(x))
    with pytest.raises(RuntimeError, match="chain 0 of the campaign is stuck.*larger spacing or a higher t_equil"):
        chain_is(CampaignConfig(**{**CHAINS, "t_equil": 0.01}), 2, state)


def test_spacing_counts_only_in_a_chain_campaign(tmp_path):
    """Resuming with another spacing: accepted without chains (it is unused), refused with."""
    from tlsviz.catalog import CatalogError

    run_campaign(CampaignConfig(**{**SMALL, "minima": 1, "tries": 5, "spacing": 700.0}), tmp_path / "plain")
    run_campaign(CampaignConfig(**{**SMALL, "minima": 2, "tries": 5}), tmp_path / "plain", resume=True)
    run_campaign(CampaignConfig(**{**CHAINS, "minima": 1, "tries": 5}), tmp_path / "chains")
    with pytest.raises(CatalogError, match="spacing: stored 20.0, given 30.0"):
        run_campaign(CampaignConfig(**{**CHAINS, "minima": 2, "tries": 5, "spacing": 30.0}), tmp_path / "chains",
                     resume=True)


def test_chain_options_are_checked_and_old_catalogues_resume(tmp_path):
    with pytest.raises(ValueError, match="chains must be a whole number >= 0"):
        CampaignConfig(chains=-1).validate()
    with pytest.raises(ValueError, match="spacing must be at least one MD step"):
        CampaignConfig(chains=2, spacing=0.0).validate()
    # a catalogue written before chains existed (no chains/spacing in campaign.json) resumes
    cat = run_campaign(CampaignConfig(**{**SMALL, "minima": 1, "tries": 5}), tmp_path / "old")
    meta = json.loads((tmp_path / "old" / "campaign.json").read_text())
    del meta["chains"], meta["spacing"]
    (tmp_path / "old" / "campaign.json").write_text(json.dumps(meta))
    again = run_campaign(CampaignConfig(**{**SMALL, "minima": 2, "tries": 5}), tmp_path / "old", resume=True)
    assert list(again.minima.is_id) == [0, 1] and cat.minima.energy[0] == again.minima.energy[0]
