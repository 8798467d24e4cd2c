"""Local search tries (SearchParams(mode="local")): certified DWPs found again, held particles
fixed, full-system certification, worker independence, parameter checks."""

import numpy as np
import pandas as pd
import pytest

import tlsviz
from tlsviz.campaign import CampaignConfig, run_campaign
from tlsviz.engine.local import _held_fire, _held_inv_m3, _held_nve
from tlsviz.search import SearchParams, same_minimum, verify_pair
from tlsviz.search.local import centre_of_try, local_velocities, region

LOCAL = dict(mode="local", t_search=2.0, n_search=100, r_loc=1.2, buffer=1.0)


@pytest.fixture(scope="module")
def system():
    return tlsviz.KobAndersen(n=65)


@pytest.mark.parametrize("design", ["held", "free"])
def test_local_search_finds_certified_dwps(system, certified, design):
    """Two tries per particle from certified IS 3, 4 and 7 find their certified second minima,
    verified in the full system."""
    for i in (3, 4, 7):
        res = tlsviz.search_dwps(system, certified["is_positions"][i], seed=7, is_id=i, design=design,
                                 tries_per_particle=2, **LOCAL)
        assert res.stats["tries"] == 2 * 65
        assert res.params.mode == "local"
        found = [same_minimum(system, certified["min_positions"][i], certified["E_min"][i], res.minimum(k),
                              row.min_energy, 1e-7, 1e-4) for k, row in res.dwps.iterrows()]
        assert sum(found) == 1, f"IS {i} ({design}): certified minimum not found among {len(res.dwps)} DWPs"
        row = res.dwps[found].iloc[0]
        assert row.barrier == pytest.approx(certified["V"][i], abs=1e-6)
        assert row["count"] >= 1 and row["tries"] == 130


def _displaced_is(system, certified):
    x = np.ascontiguousarray(certified["is_positions"][4])
    params = SearchParams(**LOCAL)
    _, mobile, sub = region(system, x, 0, params)
    is_mobile = np.zeros(system.n_particles, dtype=np.bool_)
    is_mobile[mobile] = True
    return x, is_mobile


def test_held_particles_stay_fixed(system, certified):
    x, is_mobile = _displaced_is(system, certified)
    inv_m3 = _held_inv_m3(system.masses, is_mobile)
    v = np.where(is_mobile[:, None], np.random.default_rng(1).normal(0, 1.4, x.shape), 0.0)
    xt, f = x.copy(), np.empty_like(x)
    _held_nve(xt, v, f, inv_m3, 0.01, 200, system.model)
    held = ~is_mobile
    assert held.sum() >= 5 and is_mobile.sum() >= 5
    assert np.array_equal(xt[held], x[held]) and np.all(v[held] == 0.0)
    assert np.max(np.abs(xt[is_mobile] - x[is_mobile])) > 0.05
    _, fmax, _ = _held_fire(xt, inv_m3, 0.01, 1e-6, 20000, system.model)
    assert fmax < 1e-6
    assert np.array_equal(xt[held], x[held])


def test_a_minimum_only_while_held_is_rejected(system, certified):
    """Held particles moved off their IS positions and the others relaxed around them: forces
    vanish on the mobile particles only. The full-system certification dismisses it; a local
    try never returns such a point (its last quench is of the whole system)."""
    x, is_mobile = _displaced_is(system, certified)
    held = ~is_mobile
    xh = x.copy()
    xh[held] += np.random.default_rng(2).normal(0, 0.03, (held.sum(), 3))
    inv_m3 = _held_inv_m3(system.masses, is_mobile)
    _, fmax, _ = _held_fire(xh, inv_m3, 0.01, 1e-9, 50000, system.model)
    assert fmax < 1e-9  # a minimum while the particles are held
    f_full = np.linalg.norm(system.energy_forces(xh)[1], axis=1)
    assert f_full.max() > 1e-3 and f_full[is_mobile].max() < 1e-9
    e_is = system.energy(x)
    verdict = verify_pair(system, x, e_is, xh, system.energy(xh), SearchParams())
    assert not verdict.ok and "not a minimum of the full system" in verdict.reason


def test_centres_and_streams_depend_only_on_seed_is_and_try(system, certified):
    x = certified["is_positions"][4]
    p = SearchParams(**LOCAL)
    all_v = local_velocities(system, range(70), seed=3, is_id=2, params=p, x_is=x)
    for k in (0, 5, 64, 65, 69):
        one = local_velocities(system, [k], seed=3, is_id=2, params=p, x_is=x)[0]
        assert np.array_equal(one, all_v[k])
        sphere, _, _ = region(system, x, centre_of_try(system, k), p)
        moving = np.flatnonzero(np.any(one != 0.0, axis=1))
        assert centre_of_try(system, k) == k % 65 and set(moving) == set(sphere)
        assert np.allclose((system.masses[:, None] * one).sum(axis=0), 0.0, atol=1e-12)


def test_same_catalogue_on_one_and_two_workers(tmp_path):
    config = CampaignConfig(minima=2, tries=40, burn_in=20.0, seed=5,
                            search=SearchParams(**LOCAL, tries_per_particle=1)).validate()
    a = run_campaign(config, tmp_path / "w1", workers=1)
    b = run_campaign(config, tmp_path / "w2", workers=2)
    assert a.params["search"]["mode"] == "local"
    assert list(a.minima.tries) == [65, 65]
    for name in ("minima", "dwps", "dismissed"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    for i in range(len(a.dwps)):
        assert np.array_equal(a.path(i), b.path(i))


@pytest.mark.parametrize("change, message", [
    (dict(r_loc=2.0), "r_loc = 2 σ is not below half the box"),
    (dict(buffer=0.0), "buffer must be a shell > 0"),
    (dict(tries_per_particle=-3), "tries_per_particle must be a whole number >= 1"),
    (dict(r_loc=-1.0), "r_loc must be a radius > 0"),
    (dict(design="frozen"), "design must be one of"),
    (dict(mode="regional"), "mode must be one of"),
])
def test_bad_local_parameters(system, certified, change, message):
    with pytest.raises(ValueError, match=message):
        tlsviz.search_dwps(system, certified["is_positions"][4], **{**LOCAL, **change})


def test_cli_local_search_and_its_defaults(tmp_path, capsys):
    from tlsviz import cli
    from tlsviz.catalog import Catalog
    from tlsviz.search.params import LOCAL_DEFAULTS

    assert {k: LOCAL_DEFAULTS[k] for k in cli.LOCAL_DEFAULTS} == cli.LOCAL_DEFAULTS
    out = tmp_path / "cat"
    assert cli.main(["search", "--local", "--minima", "1", "--burn-in", "10", "--tries-per-particle", "1",
                     "--r-loc", "1.4", "--out", str(out)]) == 0
    cat = Catalog.open(out)
    s = cat.params["search"]
    assert (s["mode"], s["r_loc"], s["tries_per_particle"], s["t_search"]) == ("local", 1.4, 1, 2.0)
    assert list(cat.minima.tries) == [65]
    assert cli._resume_command(cat).split()[2:] == ["--minima", "1", "--burn-in", "10", "--r-loc", "1.4",
                                                    "--tries-per-particle", "1", "--local", "--out", str(out),
                                                    "--resume"]
    with pytest.raises(SystemExit) as exit_:
        cli.main(["search", "--local", "--r-loc", "1.95", "--minima", "1", "--out", str(tmp_path / "x")])
    assert exit_.value.code != 0
    assert "not below half the box" in capsys.readouterr().err


def test_scan_of_the_local_knobs_counts_certified_dwps_per_core_second(system, certified):
    from tlsviz.search import best_search_parameters, scan_search_parameters

    table = scan_search_parameters(system, [certified["is_positions"][4]], t_values=(2.0,), n_values=(100,),
                                   params=SearchParams.local(), r_loc_values=(1.1, 1.2),
                                   tries_per_particle_values=(1,))
    assert list(table.r_loc) == [1.1, 1.2] and list(table.tries_per_particle) == [1, 1]
    assert (table.back_to_is > 0).all() and (table.seconds_per_is > 0).all()
    assert np.allclose(table.certified_per_core_second, table.certified_per_is / table.seconds_per_is)
    assert (table.certified_per_is <= table.distinct_per_is).all()
    best = best_search_parameters(table)
    assert best.certified_per_core_second == table.certified_per_core_second.max()
    with pytest.raises(ValueError, match="objective must be"):
        scan_search_parameters(system, [certified["is_positions"][4]], (2.0,), (100,), objective="dwps")


def test_a_catalogue_written_before_local_mode_resumes(tmp_path):
    import json

    config = CampaignConfig(minima=2, tries=10, burn_in=5.0, seed=3)
    out = tmp_path / "old"
    run_campaign(CampaignConfig(minima=1, tries=10, burn_in=5.0, seed=3), out)
    meta = json.loads((out / "campaign.json").read_text())
    for key in ("mode", "r_loc", "buffer", "tries_per_particle", "design"):
        del meta["search"][key]  # as written before local tries existed
    (out / "campaign.json").write_text(json.dumps(meta))
    cat = run_campaign(config, out, resume=True)
    assert list(cat.minima.is_id) == [0, 1]


def test_tune_local_command(capsys):
    from tlsviz.cli import main

    assert main(["tune", "--local", "--minima", "1", "--r-loc-values", "1.1", "1.2",
                 "--tries-per-particle-values", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("certified DWPs per IS") == 2 and "certified_per_core_second" in out
    assert "best: --local --t-search 2 --n-search 100 --r-loc " in out or "no point found a certified DWP" in out


def test_a_dwp_found_from_several_centres_is_one_record_with_its_count(system, certified):
    from tlsviz.search.local import run_local_tries

    x = certified["is_positions"][4]
    params = SearchParams.local(tries_per_particle=2)
    res = tlsviz.search_dwps(system, x, seed=7, is_id=4, params=params)
    tries = run_local_tries(system, x, range(130), seed=7, is_id=4, params=params)
    assert len(res.dwps) >= 1
    for j, row in res.dwps.iterrows():
        hits = [k for k in range(130) if tries.converged[k] and same_minimum(
            system, res.minimum(j), row.min_energy, tries.positions[k], tries.energy[k], 1e-7, 1e-4)]
        assert hits, f"DWP {j} found by no try"
        assert row["count"] == len(hits) and row["first_try"] == hits[0]
        centres = {k % 65 for k in hits}
        assert len(centres) >= 3, f"DWP {j} found from centres {sorted(centres)} only"


@pytest.fixture(scope="module")
def twin(certified):
    """The 2 × 65 system at the IS made of certified IS 4 (copy 0) and IS 3 (copy 1)."""
    system = tlsviz.KobAndersen(n=65, copies=2)
    x = np.ascontiguousarray(np.concatenate([certified["is_positions"][4], certified["is_positions"][3]]))
    return system, x


def test_held_stage_on_a_sub_system_agrees_with_the_whole_system(twin):
    """At 2 × 65 the held sub-system of a centre is its copy: the held MD and quench on it
    (the sub-model, a partial idx) agree to round-off with the same run on all 130 particles,
    which leaves the other copy and the held particles untouched bit for bit."""
    from tlsviz.engine.local import _held_relax
    from tlsviz.search.local import HELD_FTOL, HELD_MAX_STEPS, _held_try, _sub_model

    from tlsviz.search.preconditioner import hessian_preconditioner

    system, x = twin
    params = SearchParams.local(design="held", buffer=1.0)
    n, moved = system.n_particles, []
    precond, e_is = hessian_preconditioner(system, x, params), system.energy(x)
    for k in range(65, 75):
        _, mobile, sub = region(system, x, k, params)
        assert np.array_equal(sub, np.arange(65, 130))  # one copy
        is_mobile = np.zeros(n, dtype=np.bool_)
        is_mobile[mobile] = True
        v = local_velocities(system, [k], seed=3, params=params, x_is=x)[0]
        args = (params.dt, params.n_search, HELD_FTOL, HELD_MAX_STEPS)
        xs_sub, _ = _held_relax(x, sub, np.ascontiguousarray(v[sub]),
                                _held_inv_m3(system.masses[sub], is_mobile[sub]), _sub_model(system.model, sub), *args)
        xs_all, _ = _held_relax(x, np.arange(n), v, _held_inv_m3(system.masses, is_mobile), system.model, *args)
        assert np.array_equal(xs_all[~is_mobile], x[~is_mobile])
        assert np.array_equal(xs_sub[~is_mobile[sub]], x[sub][~is_mobile[sub]])
        np.testing.assert_allclose(xs_sub, xs_all[sub], rtol=0, atol=1e-8)
        # the held stage on the mobile particles' own pair list (large systems' sub-systems)
        xs_pl, _ = _held_relax(x, sub, np.ascontiguousarray(v[sub]), _held_inv_m3(system.masses[sub], is_mobile[sub]),
                               _sub_model(system.model, sub), *args, True)
        assert np.array_equal(xs_pl[~is_mobile[sub]], x[sub][~is_mobile[sub]])
        np.testing.assert_allclose(xs_pl, xs_sub, rtol=0, atol=1e-8)
        moved.append(np.abs(xs_all - x).max())
        # the whole try (held stage, full quench) on the sub-system and on everything
        a, _ = _held_try(system, x, e_is, sub, is_mobile, v, params, minimize_method(params), precond, np.inf)
        b, _ = _held_try(system, x, e_is, np.arange(n), is_mobile, v, params, minimize_method(params), precond,
                         np.inf)
        assert a.converged and b.converged and a.energy == pytest.approx(b.energy, rel=1e-10)
        np.testing.assert_allclose(a.positions, b.positions, rtol=0, atol=1e-6)
        assert np.abs(a.positions[:65] - x[:65]).max() < 1e-6  # the other copy stays at its IS
    assert max(moved) > 0.05, "no try moved its mobile particles: the comparison tests nothing"


def minimize_method(params):
    from tlsviz.engine import minimize

    return minimize.METHODS[params.minimizer]


def test_a_held_stage_beyond_the_sub_margin_is_redone_on_the_whole_system(twin, monkeypatch):
    """A held stage whose particles move more than SUB_MARGIN (here made 0) is redone on all
    particles; with the margin kept, every try of a 2 × 65 stays on its copy."""
    import tlsviz.search.local as loc

    system, x = twin
    params = SearchParams.local(design="held", buffer=1.0)
    ks = list(range(65, 71))
    calls, real = [], loc._local_try
    monkeypatch.setattr(loc, "_local_try", lambda *a: (calls.append(len(a[2])), real(*a))[1])
    kept = loc.run_local_tries(system, x, ks, seed=3, params=params)
    assert calls == [65] * len(ks)
    calls.clear()
    monkeypatch.setattr(loc, "SUB_MARGIN", 0.0)
    redone = loc.run_local_tries(system, x, ks, seed=3, params=params)
    assert calls == [65, 130] * len(ks)
    assert np.array_equal(redone.converged, kept.converged)
    np.testing.assert_allclose(redone.energy, kept.energy, rtol=1e-10)
    np.testing.assert_allclose(redone.positions, kept.positions, rtol=0, atol=1e-6)


def test_a_sphere_that_holds_its_centre_alone_is_an_error_or_a_warning(system, certified):
    from tlsviz.search.local import check_spheres

    x = certified["is_positions"][4]
    with pytest.raises(ValueError, match="below every particle's nearest-neighbour distance"):
        tlsviz.search_dwps(system, x, **{**LOCAL, "r_loc": 0.5})
    with pytest.warns(RuntimeWarning, match="hold the centre alone"):
        check_spheres(system, x, SearchParams.local(r_loc=0.95))
    check_spheres(system, x, SearchParams.local())  # r_loc 1.2: every sphere holds 2 or more


def test_resume_command_of_a_local_campaign_without_tries_per_particle():
    from types import SimpleNamespace

    from tlsviz.cli import _resume_command

    config = CampaignConfig(minima=1, tries=40, search=SearchParams(mode="local"))
    cmd = _resume_command(SimpleNamespace(params=config.to_dict(), root="cat"))
    assert "None" not in cmd and "--tries-per-particle" not in cmd
    assert "--tries 40" in cmd and "--local" in cmd


def test_local_options_without_local_are_an_error(tmp_path, capsys):
    from tlsviz import cli

    for option in (["--r-loc", "1.4"], ["--design", "held"], ["--buffer", "1"], ["--tries-per-particle", "2"]):
        with pytest.raises(SystemExit) as exit_:
            cli.main(["search", *option, "--minima", "1", "--out", str(tmp_path / "x")])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert f"{option[0]} only apply to local tries: add --local" in err
    assert not (tmp_path / "x").exists()


def _held_region_2000(lammps_ref, centre=17):
    """A held try's region around ``centre`` in the N = 2000 reference IS (default local
    parameters, design "held"): (system, x, mobile, sub, is_mobile, inv_m3, model, xs), xs the
    sub-system's positions, model its model, is_mobile and inv_m3 over the sub-system."""
    from tlsviz.search.local import _sub_model

    system = tlsviz.KobAndersen(n=2000)
    x = np.ascontiguousarray(lammps_ref["n2000_is_positions"])
    _, mobile, sub = region(system, x, centre, SearchParams.local(design="held"))
    is_mobile = np.isin(sub, mobile)
    inv_m3 = _held_inv_m3(system.masses[sub], is_mobile)
    return system, x, mobile, sub, is_mobile, inv_m3, _sub_model(system.model, sub), np.ascontiguousarray(x[sub])


def test_held_pair_list_gives_the_full_systems_forces_on_mobile_particles(lammps_ref):
    """N = 2000: the pair list of a held sub-system (every pair with a mobile particle, from a
    brute-force search, rebuilt after half a skin) gives the mobile particles the forces of the
    whole system, and the held ones none, also after the mobile particles have moved."""
    from tlsviz.engine.local import HELD_SKIN, _held_list, _held_list_stale, _held_pair_forces

    system, x, mobile, sub, is_mobile, inv_m3, model, xs = _held_region_2000(lammps_ref)
    assert len(mobile) < len(sub) < system.n_particles
    pi, pj, x_ref, r_list = _held_list(xs, inv_m3, model)
    assert r_list == pytest.approx(system.rc + HELD_SKIN)
    rng = np.random.default_rng(4)
    for amp in (0.0, 0.4 * HELD_SKIN):
        xm = xs.copy()
        xm[is_mobile] += rng.uniform(-amp, amp, (is_mobile.sum(), 3)) / np.sqrt(3)
        assert not _held_list_stale(xm, x_ref, r_list, model)
        f = np.empty_like(xm)
        _held_pair_forces(xm, f, inv_m3, model, pi, pj)
        x_all = x.copy()
        x_all[sub] = xm
        f_all = system.energy_forces(x_all)[1]
        np.testing.assert_allclose(f[is_mobile], f_all[mobile], rtol=0, atol=1e-10)
        assert np.all(f[~is_mobile] == 0.0)
    xm = xs.copy()
    xm[np.flatnonzero(is_mobile)[0], 0] += 0.6 * HELD_SKIN
    assert _held_list_stale(xm, x_ref, r_list, model)


def test_held_md_on_its_pair_list_rebuilds_and_follows_the_system_kernel(lammps_ref):
    """N = 2000, a held region made hot (T = 4): the held MD on the mobile particles' pair list
    (:func:`_held_nve_pl`) rebuilds that list as particles move more than half its skin, and
    follows the held MD on the system's own kernel (:func:`_held_nve`, which also rebuilds its
    Verlet list) to round-off; the held particles stay where they were, bit for bit."""
    from tlsviz.engine.local import HELD_SKIN, _held_nve_pl

    _, _, _, _, is_mobile, inv_m3, model, xs = _held_region_2000(lammps_ref)
    v = np.random.default_rng(3).normal(0.0, 2.0, xs.shape) * is_mobile[:, None]  # T = 4 (m_A = 1)
    x_pl, v_pl, f_pl = xs.copy(), v.copy(), np.empty_like(xs)
    x_nl, v_nl, f_nl = xs.copy(), v.copy(), np.empty_like(xs)
    e_pl = _held_nve_pl(x_pl, v_pl, f_pl, inv_m3, 0.005, 150, model)
    _held_nve(x_nl, v_nl, f_nl, inv_m3, 0.005, 150, model)
    assert np.abs(x_pl - xs).max() > 2 * HELD_SKIN  # the pair list was rebuilt on the way
    np.testing.assert_allclose(x_pl, x_nl, rtol=0, atol=1e-8)
    np.testing.assert_allclose(f_pl[is_mobile], f_nl[is_mobile], rtol=0, atol=1e-6)
    assert np.array_equal(x_pl[~is_mobile], xs[~is_mobile]) and np.isfinite(e_pl)


def test_a_held_try_that_moves_past_its_margin_is_redone_on_a_wider_region(lammps_ref, monkeypatch):
    """N = 2000: when the held stage moves a particle further than the sub-system's margin
    (particles left out might then act), the try is redone on a sub-system whose margin covers
    the move, and ends in the same minimum as with the default margin."""
    from tlsviz.search import local

    system = tlsviz.KobAndersen(n=2000)
    x = np.ascontiguousarray(lammps_ref["n2000_is_positions"])
    params = SearchParams.local(design="held", buffer=1.0)
    ks = [17, 1017]
    ref = local.run_local_tries(system, x, ks, seed=5, params=params)
    margins = []
    region_ = local.region

    def spy(system, x_is, centre, params, margin=None):
        margins.append(margin)
        return region_(system, x_is, centre, params, margin)

    monkeypatch.setattr(local, "region", spy)
    monkeypatch.setattr(local, "SUB_MARGIN", 1e-4)
    out = local.run_local_tries(system, x, ks, seed=5, params=params)
    wider = [m for m in margins if m is not None]
    assert len(wider) >= 1 and all(m > 1e-4 for m in wider)  # redone on a wider sub-system
    for b in range(len(ks)):
        assert out.energy[b] == pytest.approx(ref.energy[b], abs=1e-8)
        assert same_minimum(system, out.positions[b], out.energy[b], ref.positions[b], ref.energy[b])


def test_back_to_the_is_without_the_full_quench_is_the_is(twin):
    """2 × 65, held tries on a sub-system (the mobile particles' pair list): every try that the
    held stage calls "back to the IS" (returned as the IS itself, without a full quench) quenches
    in the whole system from its held end to the IS as well; the others keep the full quench."""
    from tlsviz.engine.local import _held_relax
    from tlsviz.search.local import HELD_FTOL, HELD_MAX_STEPS, _sub_model, run_local_tries

    system, x = twin
    params = SearchParams.local(design="held", buffer=1.0)
    ks = list(range(65, 95))
    out = run_local_tries(system, x, ks, seed=5, params=params)
    e_is = system.energy(x)
    short = elsewhere = 0
    for b, k in enumerate(ks):
        if not np.array_equal(out.positions[b], x):
            elsewhere += 1
            assert out.grad_norm[b] < params.ftol
            continue
        short += 1
        _, mobile, sub = region(system, x, k, params)
        is_mobile = np.isin(sub, mobile)
        v = local_velocities(system, [k], seed=5, params=params, x_is=x)[0]
        xs, _ = _held_relax(x, sub, np.ascontiguousarray(v[sub]), _held_inv_m3(system.masses[sub], is_mobile),
                            _sub_model(system.model, sub), params.dt, params.n_search, HELD_FTOL, HELD_MAX_STEPS,
                            True)
        xe = x.copy()
        xe[sub] = xs
        q = system.quench(xe, ftol=params.ftol, method="lbfgs")
        assert q.converged and same_minimum(system, x, e_is, q.positions, q.energy, 1e-7, 1e-4), f"try {k}"
    assert short >= 5 and elsewhere >= 1, (short, elsewhere)


def test_held_tries_on_sub_systems_find_certified_dwps(twin, certified):
    """2 × 65 (every held try on its copy's sub-system, the mobile particles' pair list): one try
    per particle finds the certified second minima of IS 4 (copy 0) and IS 3 (copy 1), each
    verified in the full system as a DWP of its copy."""
    system, x = twin
    res = tlsviz.search_dwps(system, x, seed=7, params=SearchParams.local(design="held", tries_per_particle=1))
    assert res.stats["tries"] == 130
    for c, i in ((0, 4), (1, 3)):
        sl = system.copy_slice(c)
        rows = res.dwps[res.dwps["copy"] == c]
        one = system.single_copy()
        found = [same_minimum(one, certified["min_positions"][i], certified["E_min"][i], res.minimum(k)[sl],
                              one.energy(res.minimum(k)[sl]), 1e-7, 1e-4) for k in rows.index]
        assert sum(found) == 1, f"copy {c} (IS {i}): certified minimum not among {len(rows)} DWPs"
        assert rows[found].iloc[0].barrier == pytest.approx(certified["V"][i], abs=1e-6)
