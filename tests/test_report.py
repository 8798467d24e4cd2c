"""`tlsviz report`: figures, report.md/html and summary.json from a real small campaign and hand-made catalogues."""

import json
import math

import numpy as np
import pytest

from tlsviz.analysis.report import format_error, format_value, write_report
from tlsviz.campaign import CampaignConfig, run_campaign
from tlsviz.cli import main

from fake_catalog import disp, make_catalog

# scipy's IntegrationWarning must never reach a report's user (docs/tunnelling.md, "The action integral")
pytestmark = pytest.mark.filterwarnings("error::scipy.integrate.IntegrationWarning")

TOP_KEYS = {"tlsviz_version", "units", "catalogues", "finite_size", "figures", "data"}
CATALOGUE_KEYS = {"label", "slug", "path", "n", "copies", "n_particles", "n_a", "n_b", "minima_planned", "n_is",
                  "tries", "t_equil", "search", "n_dwps", "n_dismissed", "dwps_per_is", "dwps_per_particle",
                  "central_b", "participation_ratios", "tls_density", "sorted_displacements", "distance_histogram",
                  "found_count", "against_is_energy", "against_is_energy_dwps", "participation_vs_distance",
                  "central_correlation", "tunnelling", "figures", "data"}
FIGURES = {"distance_histogram", "found_count", "tls_density", "sorted_displacements", "participation_ratios",
           "participation_vs_distance", "central_correlation", "against_is_energy", "tunnelling"}


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """A small real N = 65 campaign (4 IS × 40 tries, a few seconds)."""
    return run_campaign(CampaignConfig(n=65, minima=4, tries=40, burn_in=20.0, seed=5),
                        tmp_path_factory.mktemp("real") / "ka65")


@pytest.fixture(scope="module")
def two_copies(tmp_path_factory):
    """A hand-made 2 × 65 catalogue: 2 IS, 3 DWPs (two central B, one central A)."""
    m = lambda moves, a: dict(disp=disp(130, moves), asymmetry=a)
    return make_catalog(tmp_path_factory.mktemp("fake") / "ka2x65", [
        dict(energy=-585.0, dwps=[m({60: 0.3, 3: 0.1}, 0.01), m({3: 0.25}, 0.0005)]),
        dict(energy=-583.0, dwps=[m({125: 0.3}, 0.2)])], copies=2)


@pytest.fixture(scope="module")
def report(real, two_copies, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    assert main(["report", str(real.root), str(two_copies.root), "--out", str(out)]) == 0
    return out, json.loads((out / "summary.json").read_text())


def test_files_and_keys(report):
    out, s = report
    for name in ("report.md", "report.html", "summary.json"):
        assert (out / name).stat().st_size > 0
    assert set(s) == TOP_KEYS
    assert [c["label"] for c in s["catalogues"]] == ["N = 65", "2 × 65"]
    assert [c["slug"] for c in s["catalogues"]] == ["n65", "2x65"]
    for c in s["catalogues"]:
        assert set(c) == CATALOGUE_KEYS
        assert set(c["figures"]) == FIGURES
        for fig in c["figures"].values():
            assert (out / fig["png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert b"<svg" in (out / fig["svg"]).read_bytes()[:2000]
        for path in c["data"].values():
            assert (out / path).exists()
        assert set(c["participation_ratios"]) == {"all", "A", "B"}
    assert (out / s["figures"]["finite_size"]["png"]).exists() and (out / "data/finite_size.csv").exists()
    assert "NaN" not in (out / "summary.json").read_text()  # strict JSON: undefined numbers are null


def test_summary_matches_the_catalogues(report, real, two_copies):
    _, s = report
    for c, cat in zip(s["catalogues"], [real, two_copies]):
        d, m = cat.dwps, cat.minima
        assert c["n_dwps"] == len(d) and c["n_is"] == len(m) and c["n_dismissed"] == len(cat.dismissed)
        assert c["dwps_per_is"]["value"] == pytest.approx(m.n_dwps.mean())
        assert c["dwps_per_particle"]["value"] == pytest.approx(m.n_dwps.mean() / c["n_particles"])
        assert c["central_b"]["k"] == int((d.central_type == "B").sum()) and c["central_b"]["n"] == len(d)
        assert c["participation_ratios"]["all"]["pr2"] == pytest.approx(d.pr2.mean())
        assert c["participation_ratios"]["all"]["pr1"] == pytest.approx(1 / d.pr1.mean())
        assert c["participation_ratios"]["all"]["n_dwps"] == len(d)
        for row in c["tls_density"]:
            assert row["n_dwps"] == int((d.asymmetry < row["delta_max"]).sum())
        assert c["distance_histogram"]["n_selected"] == int((d.asymmetry < 0.02).sum())
    fake = s["catalogues"][1]
    assert (fake["n_particles"], fake["n_a"], fake["n_b"]) == (130, 104, 26)
    assert fake["central_b"]["value"] == pytest.approx(2 / 3)
    assert [r["n_dwps"] for r in fake["tls_density"]] == [2, 1]
    cc = fake["central_correlation"]
    assert (cc["n_is_two_dwps"], cc["n_pairs"]) == (1, 0)  # the IS with two DWPs has an A central
    assert [r["label"] for r in s["finite_size"]] == ["N = 65", "2 × 65"]
    assert s["finite_size"][1]["dwps_per_is"] == pytest.approx(1.5)
    assert s["units"]["epsilon_K"] == 933.9 and s["units"]["sigma_angstrom"] == 2.2


def test_report_tables_show_the_summary_numbers(report):
    out, s = report
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    for c in s["catalogues"]:
        assert f"## {c['label']}" in md
        for g in ("all", "A", "B"):
            r = c["participation_ratios"][g]
            for k in range(1, 5):
                text = format_error(r[f"pr{k}"], r[f"pr{k}_err"])
                assert text in md and text in html
        assert format_error(c["dwps_per_is"]["value"], c["dwps_per_is"]["err"]) in md
        for row in c["tls_density"]:
            assert format_error(row["per_J_m3"], row["per_J_m3_err"]) in md
        assert format_value(c["central_b"]["value"]) in md
        for fig in c["figures"].values():
            assert f"({fig['png']})" in md and f'src="{fig["svg"]}"' in html
    for r in s["finite_size"]:
        assert format_error(r["ratio_to_first"], r["ratio_to_first_err"]) in md
    assert md.count("| --- |") >= 1 and html.count("<table>") == md.count("\n| ---")


def test_report_of_a_catalogue_without_dwps(tmp_path):
    cat = make_catalog(tmp_path / "empty", [dict(energy=-290.0), dict(energy=-291.0)])
    s = write_report([cat], tmp_path / "out", formats=("png",))
    c = s["catalogues"][0]
    assert set(c["figures"]["found_count"]) == {"png"}
    assert 'src="figures/n65-found_count.png"' in (tmp_path / "out" / "report.html").read_text()
    assert c["n_dwps"] == 0 and c["central_b"]["value"] is None
    assert c["participation_ratios"]["all"]["pr2"] is None
    assert "finite_size" not in s["figures"]  # one catalogue: no comparison figure
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["catalogues"][0]["n_dwps"] == 0


def test_labels_and_refusals(tmp_path, two_copies, capsys):
    s = write_report([two_copies, two_copies], tmp_path / "r", labels=["first", "second"], formats=())
    assert [c["label"] for c in s["catalogues"]] == ["first", "second"]
    assert len({c["slug"] for c in s["catalogues"]}) == 2  # the same system twice: distinct file names
    assert s["catalogues"][0]["figures"] == {} and "![" not in (tmp_path / "r" / "report.md").read_text()
    with pytest.raises(SystemExit) as exc:
        main(["report", str(two_copies.root), "--label", "a", "--label", "b", "--out", str(tmp_path / "x")])
    assert exc.value.code == 2 and "one --label per catalogue" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", str(two_copies.root), "--out", str(two_copies.root)])
    assert "is the catalogue" in capsys.readouterr().err


def test_format_value():
    assert format_value(None) == "–" and format_value(float("nan")) == "–"
    assert format_value(3) == "3" and format_value(0.123456) == "0.1235" and format_value(4.37e47) == "4.37e+47"
    assert format_error(1.23456, 0.0123) == "1.235 ± 0.012" and format_error(2.0, None) == "2"
    assert math.isfinite(float(format_value(np.float64(1.5))))


def test_tunnelling_section(report, real):
    from tlsviz.tunnelling import TunnellingAnalysis

    out, s = report
    tu = s["catalogues"][0]["tunnelling"]
    ana = TunnellingAnalysis().compute(real)
    assert tu["n_dwps"] == len(real.dwps) and tu["n_tls"] == int(ana.table.is_tls.sum())
    if len(real.dwps):
        assert tu["lambda_median"] == pytest.approx(float(ana.table.lambda_wkb.median()))
    text = (out / "report.md").read_text()
    assert "Tunnelling splittings and the TLS density" in text
    d = ana.density.iloc[0]
    assert tu["p_bar_upper"] == pytest.approx(d.p_bar_upper, rel=1e-12) and tu["p_bar_upper"] > 0
    if tu["n_tls"] == 0:  # the usual case for 4 IS: a bound, not "P̄ = 0 ± one count"
        assert f"no TLS in this catalogue; P̄ < {format_value(tu['p_bar_upper'])} J⁻¹ m⁻³" in text
    else:
        assert f"P̄ = {format_error(tu['p_bar'], tu['p_bar_err'])} J⁻¹ m⁻³" in text
