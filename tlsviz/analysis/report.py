"""The report of one or more catalogues: figures (PNG + SVG), report.md, report.html, summary.json.

:func:`write_report` runs every analysis of :mod:`tlsviz.analysis` on each catalogue, the
finite-size comparison across them, and writes::

    OUT/report.md  report.html  summary.json
    OUT/figures/<slug>-<name>.png|svg        (slug: n65, n130, 2x65, …)
    OUT/data/<slug>-<name>.csv               the tidy tables behind each figure

Every number in the report's tables is read from the summary that becomes summary.json
(keys documented in docs/report.md), so the two cannot disagree.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..catalog import Catalog
from ._common import as_catalog, n_particles, system_label
from .correlation import CentralParticleCorrelation
from .counts import AgainstISEnergy, DWPsPerMinimum, TLSDensity
from .displacements import ParticipationRatioTable, ParticipationVsDistance, SortedDisplacements
from .histograms import DistanceHistogram, FoundCountHistogram
from .units import NI_P

#: Ranks of the sorted displacement curves listed in the report's table.
TABLE_RANKS = 5


# ------------------------------------------------------------------ formatting
def format_value(value, digits: int = 4) -> str:
    """A number as the report prints it: integers as such, floats to ``digits`` significant
    digits, NaN or None as "–"."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.{digits}g}"


def format_error(value, err) -> str:
    """"value ± err" (err to 2 significant digits), or just the value when err is undefined."""
    if err is None or not math.isfinite(float(err)) or format_value(value) == "–":
        return format_value(value)
    return f"{format_value(value)} ± {format_value(err, 2)}"


def format_fraction(value, low, high) -> str:
    """"value (low–high)": a fraction with its 68 % Wilson interval."""
    if format_value(value) == "–":
        return "–"
    return f"{format_value(value)} ({format_value(low)}–{format_value(high)})"


def _clean(obj):
    """JSON-ready: numpy scalars to Python, NaN and inf to None."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def _records(df: pd.DataFrame) -> list[dict]:
    return [_clean(r) for r in df.to_dict(orient="records")]


class _Document:
    """Headings, paragraphs, tables and figures, rendered as Markdown and as HTML."""

    def __init__(self):
        self.blocks = []

    def heading(self, level: int, text: str):
        self.blocks.append(("h", level, text))

    def para(self, text: str):
        self.blocks.append(("p", text))

    def table(self, headers: list[str], rows: list[list[str]]):
        self.blocks.append(("t", headers, rows))

    def figure(self, paths: dict, caption: str):
        """paths: format → file; Markdown shows the first (PNG), HTML the SVG if there is one.
        Nothing when there are no paths (a report without figures)."""
        if paths:
            self.blocks.append(("f", paths, caption))

    def markdown(self) -> str:
        out = []
        for b in self.blocks:
            if b[0] == "h":
                out.append("#" * b[1] + " " + b[2])
            elif b[0] == "p":
                out.append(b[1])
            elif b[0] == "t":
                cell = lambda s: str(s).replace("|", "\\|")
                lines = ["| " + " | ".join(cell(h) for h in b[1]) + " |",
                         "| " + " | ".join("---" for _ in b[1]) + " |"]
                lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in b[2]]
                out.append("\n".join(lines))
            else:
                first, *others = b[1].items()
                links = ", ".join(f"[{fmt.upper()}]({path})" for fmt, path in others)
                out.append(f"![{b[2]}]({first[1]})\n\n*{b[2]}*" + (f" ({links})" if links else ""))
        return "\n\n".join(out) + "\n"

    def html(self, title: str) -> str:
        e = html.escape
        body = []
        for b in self.blocks:
            if b[0] == "h":
                body.append(f"<h{b[1]}>{e(b[2])}</h{b[1]}>")
            elif b[0] == "p":
                body.append(f"<p>{e(b[1])}</p>")
            elif b[0] == "t":
                head = "".join(f"<th>{e(str(h))}</th>" for h in b[1])
                rows = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in b[2])
                body.append(f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>{rows}</tbody>\n</table>")
            else:
                src = b[1].get("svg", list(b[1].values())[-1])
                body.append(f'<figure><img src="{e(src)}" alt="{e(b[2])}">'
                            f"<figcaption>{e(b[2])}</figcaption></figure>")
        style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.4}"
                 "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #bbb;padding:.25em .6em;"
                 "text-align:right}th{background:#eee}td:first-child{text-align:left}"
                 "img{max-width:100%}figure{margin:1em 0}figcaption{font-style:italic;color:#444}")
        return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{e(title)}</title>\n'
                f"<style>{style}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")


# ------------------------------------------------------------------ figures
def _figure(ncols: int = 1, nrows: int = 1, size=(6.4, 4.6)):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def _save(fig, out: Path, stem: str, formats=("png", "svg")) -> dict:
    """Save in each format; the constrained layout is computed by the first save only."""
    paths = {}
    for fmt in formats:
        extra = dict(dpi=130) if fmt == "png" else dict(metadata={"Date": None}) if fmt == "svg" else {}
        fig.savefig(out / "figures" / f"{stem}.{fmt}", **extra)
        fig.set_layout_engine("none")  # keep the positions the first save computed
        paths[fmt] = f"figures/{stem}.{fmt}"
    return paths


def _slug(cat: Catalog) -> str:
    n, copies = int(cat.params["n"]), int(cat.params.get("copies", 1))
    return f"n{n}" if copies == 1 else f"{copies}x{n}"


def _unique(names: list[str], extra: list[str]) -> list[str]:
    """Names made unique: a repeated one gets its extra text, then a counter."""
    out = [n if names.count(n) == 1 else f"{n} ({x})" for n, x in zip(names, extra)]
    seen: dict[str, int] = {}
    final = []
    for n in out:
        seen[n] = seen.get(n, 0) + 1
        final.append(n if out.count(n) == 1 else f"{n}-{seen[n]}")
    return final


# ------------------------------------------------------------------ one catalogue
def _analyse(cat: Catalog, label: str, slug: str, out: Path, formats) -> tuple[dict, dict]:
    """Run every analysis on one catalogue, save its figures and data; (summary, analyses)."""
    a = dict(
        distance=DistanceHistogram().compute(cat), found=FoundCountHistogram().compute(cat),
        tls=TLSDensity().compute(cat), energy=AgainstISEnergy().compute(cat),
        sorted=SortedDisplacements().compute(cat), prs=ParticipationRatioTable().compute(cat),
        pr_distance=ParticipationVsDistance().compute(cat), central=CentralParticleCorrelation().compute(cat),
    )
    for obj in a.values():
        obj.label = label
    from .tunnelling import TunnellingAnalysis

    tun = TunnellingAnalysis().compute(cat)
    figures, data = {}, {}
    single = dict(distance_histogram=a["distance"], found_count=a["found"], tls_density=a["tls"],
                  sorted_displacements=a["sorted"], participation_ratios=a["prs"],
                  participation_vs_distance=a["pr_distance"], central_correlation=a["central"])
    for name, obj in single.items() if formats else ():
        fig, ax = _figure()
        obj.plot(ax=ax[0, 0])
        figures[name] = _save(fig, out, f"{slug}-{name}", formats)
    if formats:
        fig, ax = _figure(2, 1, size=(8.0, 3.4))
        tun.plot(ax=ax[0, 0], quantity="lambda_wkb")
        tun.plot(ax=ax[0, 1], quantity="log10_delta0")
        figures["tunnelling"] = _save(fig, out, f"{slug}-tunnelling", formats)
        fig, ax = _figure(2, 2, size=(6.0, 4.4))
        for axis, y in zip(ax.ravel(), ("dwps_per_is", "asymmetry", "d", "barrier")):
            a["energy"].plot(ax=axis, y=y)
        figures["against_is_energy"] = _save(fig, out, f"{slug}-against_is_energy", formats)
    tables = dict(distance_histogram=a["distance"].table, found_count=a["found"].table,
                  tls_density=a["tls"].table, tls_cumulative=a["tls"].cumulative,
                  against_is_energy=a["energy"].per_is, against_is_energy_dwps=a["energy"].dwp_means,
                  sorted_displacements=a["sorted"].table, participation_ratios=a["prs"].table,
                  participation_vs_distance=a["pr_distance"].table, central_correlation=a["central"].pairs,
                  tunnelling=tun.table)
    for name, df in tables.items():
        df.to_csv(out / "data" / f"{slug}-{name}.csv", index=False)
        data[name] = f"data/{slug}-{name}.csv"

    m, d = cat.minima, cat.dwps
    per_is = DWPsPerMinimum(labels=[label]).compute(cat).table.iloc[0]
    types = cat.system().types
    st = a["sorted"].table
    ranks = list(range(1, min(TABLE_RANKS, a["sorted"].curves.shape[1]) + 1))
    sorted_summary = {"rank": ranks}
    for g in ("all", "A", "B"):
        rows = st[(st.group == g) & st["rank"].isin(ranks)]
        sorted_summary[g] = rows["mean"].tolist()
        sorted_summary[f"{g}_err"] = rows["err"].tolist()
        sorted_summary[f"{g}_n_dwps"] = int(rows.n_dwps.iloc[0]) if len(rows) else 0
    summary = dict(
        label=label, slug=slug, path=str(cat.root), n=int(cat.params["n"]), copies=int(cat.params.get("copies", 1)),
        n_particles=n_particles(cat), n_a=int((types == 0).sum()), n_b=int((types == 1).sum()),
        minima_planned=int(cat.params.get("minima", len(m))), n_is=len(m), tries=int(cat.params.get("tries", 0)),
        t_equil=cat.params.get("t_equil"), search=cat.params.get("search", {}), n_dwps=len(d),
        n_dismissed=len(cat.dismissed),
        dwps_per_is=dict(value=per_is.dwps_per_is, err=per_is.dwps_per_is_err),
        dwps_per_particle=dict(value=per_is.dwps_per_particle, err=per_is.dwps_per_particle_err),
        central_b=a["sorted"].central_b,
        participation_ratios={r["group"]: {k: v for k, v in r.items() if k != "group"}
                              for r in _records(a["prs"].table)},
        tls_density=_records(a["tls"].table),
        sorted_displacements=sorted_summary,
        distance_histogram=a["distance"].summary,
        found_count=a["found"].summary,
        against_is_energy=_records(a["energy"].per_is),
        against_is_energy_dwps=_records(a["energy"].dwp_means),
        participation_vs_distance=_records(a["pr_distance"].table),
        central_correlation=a["central"].summary,
        tunnelling=_tunnelling_summary(tun),
        figures=figures, data=data,
    )
    return _clean(summary), a


def _tunnelling_summary(tun) -> dict:
    """The numbers of the tunnelling section (energies in K, P̄ in J⁻¹ m⁻³; docs/tunnelling.md)."""
    t, d = tun.table, tun.density.iloc[0]
    def med(col):  # the median of the finite values (None if there are none: no RuntimeWarning)
        v = t[col].to_numpy(float)
        v = v[np.isfinite(v)]
        return float(np.median(v)) if len(v) else None

    return dict(n_dwps=len(t), n_tls=int(d.n_tls), e_max_k=float(d.e_max_k), p_bar=float(d.p_bar),
                p_bar_err=float(d.p_bar_err), n0=float(d.n0), n0_err=float(d.n0_err),
                p_bar_upper=float(d.p_bar_upper),
                lambda_median=med("lambda_wkb"), delta0_median_k=med("delta0"),
                tls_energy_median_k=med("tls_energy"))


def _catalogue_section(doc: _Document, s: dict):
    f, fe = format_value, format_error
    doc.heading(2, f"{s['label']}")
    doc.para(f"Catalogue {s['path']}: {s['n_particles']} particles ({s['n_a']} A, {s['n_b']} B"
             f"{', two non-interacting copies of ' + str(s['n']) if s['copies'] == 2 else ''}), "
             f"{s['n_is']} of {s['minima_planned']} IS done, M = {s['tries']} tries per IS, "
             f"{s['n_dwps']} DWPs, {s['n_dismissed']} dismissed pairs.")

    doc.heading(3, "DWPs per IS and TLS density (§7.3, §7.4)")
    doc.para(f"DWPs per IS: {fe(s['dwps_per_is']['value'], s['dwps_per_is']['err'])}; per particle: "
             f"{fe(s['dwps_per_particle']['value'], s['dwps_per_particle']['err'])} (mean over IS ± SEM). "
             "Below: DWPs with asymmetry Δ < Δ₀ (Poisson errors), and the TLS density of Ni₈₀P₂₀ "
             f"(ε = {f(NI_P.epsilon_k)} K, σ = {f(NI_P.sigma_angstrom)} Å, ρ = {f(NI_P.number_density_m3)} m⁻³; "
             "per J per m³ = per m³ / Δ₀).")
    doc.table(["Δ₀ (ε)", "Δ₀ (K)", "DWPs", "per IS", "per particle", "per m³", "per J per m³"],
              [[f(r["delta_max"]), f(r["delta_max_K"]), f(r["n_dwps"]), fe(r["per_is"], r["per_is_err"]),
                fe(r["per_particle"], r["per_particle_err"]), fe(r["per_m3"], r["per_m3_err"]),
                fe(r["per_J_m3"], r["per_J_m3_err"])] for r in s["tls_density"]])
    doc.figure(s["figures"].get("tls_density"), "DWPs per particle with Δ below a threshold")

    doc.heading(3, "Participation ratios (§7.7)")
    doc.para("PR₁ = 1/⟨d_max²/Σd²⟩, PR₂ = ⟨Σd²/d_max²⟩, PR₃ = ⟨Σ|d|/d_max⟩, PR₄ = ⟨(Σd²)²/Σd⁴⟩ "
             "over the DWPs of each group (± SEM).")
    prs = s["participation_ratios"]
    doc.table(["central particle", "DWPs", "PR₁", "PR₂", "PR₃", "PR₄"],
              [[g, f(r["n_dwps"])] + [fe(r[f"pr{k}"], r[f"pr{k}_err"]) for k in range(1, 5)]
               for g, r in prs.items()])
    doc.figure(s["figures"].get("participation_ratios"), "The four participation ratios by central type")

    cb = s["central_b"]
    doc.heading(3, "Central particles and sorted displacements (§7.6)")
    doc.para(f"Fraction of DWPs whose central particle is B: {fe(cb['value'], cb['err'])} "
             f"({f(cb['k'])} of {f(cb['n'])}; 68 % Wilson interval {f(cb['low'])}–{f(cb['high'])}); "
             f"B particles make up {f(cb['particle_fraction'])} of the system.")
    if "unambiguous" in cb:
        ub = cb["unambiguous"]
        doc.para(f"Ambiguous central particle (second-largest |d| above {f(cb['ambiguous_ratio'])} of the largest): "
                 f"{f(cb['n_ambiguous'])} of {f(cb['n'])} DWPs, {f(cb['n_flip'])} of them with a second particle "
                 f"of the other type (their A/B label could go either way). Central B over the "
                 f"{f(ub['n'])} unambiguous DWPs: {fe(ub['value'], ub['err'])} ({f(ub['k'])} of {f(ub['n'])}; "
                 f"68 % Wilson interval {f(ub['low'])}–{f(ub['high'])}).")
    sd = s["sorted_displacements"]
    doc.table(["rank", f"all ({sd['all_n_dwps']}) |d| (σ)", f"central A ({sd['A_n_dwps']}) |d| (σ)",
               f"central B ({sd['B_n_dwps']}) |d| (σ)"],
              [[str(r)] + [fe(sd[g][j], sd[f"{g}_err"][j]) for g in ("all", "A", "B")]
               for j, r in enumerate(sd["rank"])])
    doc.figure(s["figures"].get("sorted_displacements"), "Sorted displacement curves, mean over DWPs by rank")

    dh = s["distance_histogram"]
    doc.heading(3, "Distances (§7.1) and participation against distance (§7.8)")
    doc.para(f"{f(dh['n_selected'])} of {f(dh['n_dwps'])} DWPs have Δ < {f(dh['delta_max'])} ε; their mean d is "
             f"{fe(dh['mean'], dh['mean_err'])} σ (median {f(dh['median'])} σ).")
    doc.figure(s["figures"].get("distance_histogram"), "Histogram of d for the DWPs with Δ < 0.02")
    doc.table(["d (σ)", "DWPs", "PR₂"],
              [[f"{f(r['d_low'])}–{f(r['d_high'])}", f(r["n_dwps"]), fe(r["pr"], r["pr_err"])]
               for r in s["participation_vs_distance"]])
    doc.figure(s["figures"].get("participation_vs_distance"), "Participation ratio PR₂ against d")

    fc = s["found_count"]
    doc.heading(3, "How often the tries found each DWP (§7.2)")
    doc.para(f"Mean number of tries that found a DWP: {fe(fc['mean_found'], fc['mean_found_err'])} of M = "
             f"{f(fc['tries'])}; for the {f(fc['n_high_pr'])} DWPs with PR₂ above the average "
             f"({f(fc['pr_average'])}): {fe(fc['mean_found_high_pr'], fc['mean_found_high_pr_err'])}. "
             f"Found only once: {fe(fc['found_once'], fc['found_once_err'])} of the DWPs "
             f"(68 % Wilson interval {f(fc['found_once_low'])}–{f(fc['found_once_high'])}).")
    doc.figure(s["figures"].get("found_count"), "How many tries found each DWP")

    doc.heading(3, "Against the energy of the starting IS (§7.5)")
    subsets = list(dict.fromkeys(r["subset"] for r in s["against_is_energy"]))
    bins = {}
    for r in s["against_is_energy"]:
        bins.setdefault(r["energy_bin"], dict(r=r, v={}))["v"][r["subset"]] = fe(r["dwps_per_is"], r["dwps_per_is_err"])
    doc.table(["IS energy per particle (ε)", "mean", "IS"] + [f"DWPs per IS, {x.replace('d_mwrp', 'd_mw,rp')}"
                                                             for x in subsets],
              [[f"{f(b['r']['e_low'])} to {f(b['r']['e_high'])}", f(b["r"]["e_mean"]), f(b["r"]["n_is"])]
               + [b["v"].get(x, "–") for x in subsets] for b in bins.values()])
    doc.figure(s["figures"].get("against_is_energy"), "DWPs per IS, Δ, d and V against the IS energy")

    tu = s["tunnelling"]
    doc.heading(3, "Tunnelling splittings and the TLS density P̄")
    doc.para(f"Along each DWP's mass-weighted path (docs/tunnelling.md): median WKB exponent λ = "
             f"{f(tu['lambda_median'])}, median Δ₀ = {f(tu['delta0_median_k'])} K, median TLS energy "
             f"E = √(Δ² + Δ₀²) = {f(tu['tls_energy_median_k'])} K. TLS (E < {f(tu['e_max_k'])} K): "
             + (f"none of the {f(tu['n_dwps'])} DWPs: no TLS in this catalogue; P̄ < {f(tu['p_bar_upper'])} "
                f"J⁻¹ m⁻³ (one-sided 95 % Poisson upper limit: 3.0 TLS / (volume searched × E_max))."
                if tu["n_tls"] == 0 else
                f"{f(tu['n_tls'])} of {f(tu['n_dwps'])} DWPs; P̄ = {fe(tu['p_bar'], tu['p_bar_err'])} J⁻¹ m⁻³ "
                f"(weighted by (Δ₀/E)², Poisson error; 95 % upper limit {f(tu['p_bar_upper'])})."))
    doc.figure(s["figures"].get("tunnelling"), "Distributions of the WKB exponent λ and of log₁₀ Δ₀ (K)")

    cc = s["central_correlation"]
    doc.heading(3, "Spatial correlation of the central particles (§7.9)")
    doc.para(f"IS with exactly two DWPs: {f(cc['n_is_two_dwps'])}; of them with both central particles "
             f"{cc['central_type']}: {f(cc['n_pairs'])}.")
    doc.table(["quantity", "value", "independent DWPs"], [
        [f"same central {cc['central_type']} ({f(cc['n_shared'])} of {f(cc['n_pairs'])}; 68 % Wilson interval)",
         format_fraction(cc["shared"], cc["shared_low"], cc["shared_high"]),
         f"1/n_{cc['central_type']} = {f(cc['expected_shared'])}"],
        [f"mean distance of different central particles (σ, {f(cc['n_different'])} pairs)",
         fe(cc["mean_distance"], cc["mean_distance_err"]),
         f"{fe(cc['random_mean_distance'], cc['random_mean_distance_err'])} (random pairs; "
         f"expected scatter {f(cc['expected_err'])})"],
        ["z = (mean − random) / expected scatter", f(cc["z"]), "0"],
    ])
    doc.figure(s["figures"].get("central_correlation"), "Distance between the central particles of two DWPs of one IS")


# ------------------------------------------------------------------ the report
def write_report(catalogs, out, labels=None, formats=("png", "svg")) -> dict:
    """Write the report of one or more catalogues (paths or :class:`Catalog`) into ``out``.

    labels: one per catalogue (default "N = 65", "2 × 65", …; repeated ones get the
    directory name). formats: of the figures; report.md shows the first, report.html the
    SVG (or the last); no formats, no figures. Files in ``out`` that the report writes are replaced. Returns the
    summary (what summary.json holds).
    """
    formats = tuple(formats)
    cats = [as_catalog(c) for c in (catalogs if isinstance(catalogs, (list, tuple)) else [catalogs])]
    if not cats:
        raise ValueError("give at least one catalogue")
    if labels is not None and len(labels) != len(cats):
        raise ValueError(f"{len(labels)} labels for {len(cats)} catalogues: give one label per catalogue")
    out = Path(out)
    for cat in cats:
        if out.resolve() == cat.root.resolve():
            raise ValueError(f"--out {out} is the catalogue {cat.root} itself: choose another directory")
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a directory")
    (out / "figures").mkdir(parents=True, exist_ok=True)
    (out / "data").mkdir(exist_ok=True)

    names = [c.root.resolve().name for c in cats]
    labels = _unique(list(labels) if labels else [system_label(c) for c in cats], names)
    slugs = _unique([_slug(c) for c in cats], names)
    slugs = [s.replace(" ", "-").replace("(", "").replace(")", "") for s in slugs]
    entries = [_analyse(cat, lab, slug, out, formats)[0] for cat, lab, slug in zip(cats, labels, slugs)]

    fs = DWPsPerMinimum(labels=labels).compute(cats)
    finite_size = _records(fs.table)
    summary = dict(
        tlsviz_version=__version__,
        units=_clean(dict(epsilon_K=NI_P.epsilon_k, epsilon_J=NI_P.epsilon_j, sigma_angstrom=NI_P.sigma_angstrom,
                          sigma_m=NI_P.sigma_m, mass_A_u=NI_P.mass_a_u, mass_B_u=NI_P.mass_b_u, tau_s=NI_P.tau_s,
                          number_density=NI_P.number_density, number_density_m3=NI_P.number_density_m3)),
        catalogues=entries, finite_size=finite_size, figures={}, data={})
    if len(cats) > 1 and formats:
        fig, ax = _figure()
        fs.plot(ax=ax[0, 0])
        summary["figures"]["finite_size"] = _save(fig, out, "finite_size", formats)
    fs.table.to_csv(out / "data" / "finite_size.csv", index=False)
    summary["data"]["finite_size"] = "data/finite_size.csv"

    doc = _Document()
    f, fe = format_value, format_error
    doc.heading(1, "tlsviz report")
    doc.para(f"tlsviz {__version__}, {len(cats)} catalogue(s). Reduced Lennard-Jones units (σ = σ_AA, "
             f"ε = ε_AA); Ni₈₀P₂₀ mapping (docs/method.md §1): ε = {f(NI_P.epsilon_k)} K = "
             f"{f(NI_P.epsilon_j)} J, σ = {f(NI_P.sigma_angstrom)} Å, A = ⁶²Ni, B = ³¹P. "
             "Errors are one standard error: SEM for means, binomial for fractions, Poisson for counts. "
             "Every number below is in summary.json (keys in docs/report.md); section numbers (§) are "
             "those of the method, docs/method.md in tlsviz's repository.")
    doc.heading(2, "Catalogues")
    doc.table(["catalogue", "particles", "IS", "M", "DWPs", "dismissed", "DWPs per IS", "DWPs per particle",
               "central B (68 % Wilson interval)"],
              [[s["label"], f(s["n_particles"]), f(s["n_is"]), f(s["tries"]), f(s["n_dwps"]), f(s["n_dismissed"]),
                fe(s["dwps_per_is"]["value"], s["dwps_per_is"]["err"]),
                fe(s["dwps_per_particle"]["value"], s["dwps_per_particle"]["err"]),
                format_fraction(s["central_b"]["value"], s["central_b"]["low"], s["central_b"]["high"])]
               for s in entries])
    if len(cats) > 1:
        doc.heading(2, "Finite-size comparison (§7.3)")
        doc.para("If the search finds every DWP, the number per particle does not depend on the system size "
                 "(and 2 × N matches N). The ratio is to the first catalogue. The last columns count DWPs "
                 "with Δ below the thresholds, per particle (Poisson errors).")
        thresholds = [r["delta_max"] for r in entries[0]["tls_density"]]
        doc.table(["catalogue", "search", "particles", "IS", "M", "DWPs per IS", "DWPs per particle", "ratio to first"]
                  + [f"Δ < {f(x)} per particle" for x in thresholds],
                  [[r["label"], r["search"], f(r["n_particles"]), f(r["n_is"]), f(r["tries"]), fe(r["dwps_per_is"], r["dwps_per_is_err"]),
                    fe(r["dwps_per_particle"], r["dwps_per_particle_err"]), fe(r["ratio_to_first"], r["ratio_to_first_err"])]
                   + [fe(t["per_particle"], t["per_particle_err"]) for t in s["tls_density"]]
                   for r, s in zip(finite_size, entries)])
        doc.figure(summary["figures"].get("finite_size"), "DWPs per IS per particle against the number of particles")
    for s in entries:
        _catalogue_section(doc, s)

    (out / "report.md").write_text(doc.markdown())
    (out / "report.html").write_text(doc.html("tlsviz report"))
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary
