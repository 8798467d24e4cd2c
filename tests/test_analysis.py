"""The observables of docs/method.md §7 on hand-made catalogues whose answers are known, and the units."""

import io
import math

import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy import constants

import tlsviz
from tlsviz.analysis import (NI_P, AgainstISEnergy, CentralParticleCorrelation, DistanceHistogram,
                             DWPsPerMinimum, FoundCountHistogram, ParticipationRatioTable, ParticipationVsDistance,
                             SortedDisplacements, TLSDensity)
from tlsviz.analysis.displacements import ambiguity
from tlsviz.analysis.stats import fraction, mean_sem, poisson_err, ratio_err
from tlsviz.search import participation_ratios

from fake_catalog import disp, lattice, make_catalog

N = 65  # 52 A (0…51), 13 B (52…64)
B1, B2, B3, B4, B5 = 55, 56, 57, 58, 60
sem = lambda x: np.std(x, ddof=1) / np.sqrt(len(x))


def axes():
    return Figure(layout="constrained").subplots()


# --------------------------------------------------------------------- units
def test_ni_p_units():
    assert NI_P.kelvin(1.0) == pytest.approx(933.9)
    assert NI_P.kelvin(0.02) == pytest.approx(18.678)
    assert NI_P.joule(1.0) == pytest.approx(933.9 * 1.380649e-23, rel=1e-12)
    assert NI_P.epsilon_j == pytest.approx(1.28942e-20, rel=1e-5)
    assert NI_P.angstrom(1.0) == pytest.approx(2.2)
    assert NI_P.metre(0.5) == pytest.approx(1.1e-10)
    assert NI_P.volume_m3 == pytest.approx(1.0648e-29, rel=1e-12)  # (2.2 Å)³
    assert NI_P.number_density_m3 == pytest.approx(1.2 / 1.0648e-29, rel=1e-12)
    # τ = σ √(m_A / ε) with m_A = ⁶²Ni
    m_a = 61.928345 * 1.66053906892e-27
    assert NI_P.tau_s == pytest.approx(2.2e-10 * math.sqrt(m_a / (933.9 * 1.380649e-23)), rel=1e-9)
    assert 6.0e-13 < NI_P.tau_s < 6.4e-13
    assert NI_P.second(100.0) == pytest.approx(100 * NI_P.tau_s)
    # the model's m_B = 0.5 m_A is ³¹P to better than 0.1 %
    assert NI_P.mass_b_u / NI_P.mass_a_u == pytest.approx(0.5, rel=1e-3)


def test_densities_per_m3_and_per_joule():
    # 1e-3 TLS per particle below Δ₀ = 0.02 ε
    per_m3 = 1e-3 * 1.2 / (2.2e-10) ** 3
    assert NI_P.per_m3(1e-3) == pytest.approx(per_m3, rel=1e-12)
    assert NI_P.per_joule_per_m3(1e-3, 0.02) == pytest.approx(per_m3 / (0.02 * 933.9 * constants.k), rel=1e-12)
    assert NI_P.per_joule_per_m3(1e-3, 0.02) == pytest.approx(4.370e47, rel=1e-3)
    arr = NI_P.per_m3(np.array([1.0, 2.0]))
    assert arr.shape == (2,) and arr[1] == pytest.approx(2 * arr[0])


# --------------------------------------------------------------------- statistics
def test_statistics_helpers():
    m, s = mean_sem([1.0, 2.0, 3.0])
    assert (m, s) == pytest.approx((2.0, 1 / math.sqrt(3)))
    assert math.isnan(mean_sem([4.0])[1]) and math.isnan(mean_sem([])[0])
    f = fraction(5, 10)
    assert f["value"] == 0.5 and f["err"] == pytest.approx(math.sqrt(0.025))
    half = 1 / 1.1 * math.sqrt(0.025 + 0.0025)  # Wilson, z = 1
    assert (f["low"], f["high"]) == pytest.approx((0.5 - half, 0.5 + half))
    f0 = fraction(0, 10)
    assert f0["value"] == 0 and f0["err"] == 0 and f0["low"] == 0 and 0.05 < f0["high"] < 0.15
    assert math.isnan(fraction(0, 0)["value"])
    assert poisson_err(0) == 1.0 and poisson_err(4) == 2.0
    assert list(poisson_err(np.array([0, 9]))) == [1.0, 3.0]
    r, e = ratio_err(2.0, 0.2, 4.0, 0.4)
    assert r == 0.5 and e == pytest.approx(0.5 * math.hypot(0.1, 0.1))


# --------------------------------------------------------------------- four DWPs, known PRs
FOUR = [  # (moves, central type, q1, q2, q3, q4)
    ({B5: 0.3}, "B", 1.0, 1.0, 1.0, 1.0),                                  # one particle
    ({3: 0.2, 4: (0.0, 0.2, 0.0)}, "A", 0.5, 2.0, 2.0, 2.0),               # two, equal
    ({B1: 0.1, B2: -0.1, B3: (0, 0.1, 0), B4: (0, 0, 0.1)}, "B", 0.25, 4.0, 4.0, 4.0),  # four, equal
    ({5: 0.2, 6: 0.1}, "A", 0.8, 1.25, 1.5, 0.05 ** 2 / (0.04 ** 2 + 0.01 ** 2)),
]


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    """Four DWPs in three IS with chosen displacement vectors."""
    d = [dict(disp=disp(N, m), count=c) for (m, *_), c in zip(FOUR, (10, 1, 3, 1))]
    return make_catalog(tmp_path_factory.mktemp("four") / "cat",
                        [dict(energy=-290.0, dwps=d[:2]), dict(energy=-291.0, dwps=d[2:3]),
                         dict(energy=-292.0, dwps=d[3:])])


def test_fake_catalogue_is_what_it_says(four):
    """The helper's per-DWP quantities match the package's participation_ratios and docs/method.md §6."""
    assert list(four.dwps.central_type) == [row[1] for row in FOUR]
    for i, row in enumerate(FOUR):
        q = participation_ratios(four.displacements(i))
        assert q == pytest.approx(row[2:])
        assert four.dwps.loc[i, ["pr1", "pr2", "pr3", "pr4"]].to_numpy(float) == pytest.approx(row[2:])


def test_participation_ratio_table(four):
    t = ParticipationRatioTable().compute(four).table.set_index("group")
    q = np.array([row[2:] for row in FOUR])
    groups = dict(all=[0, 1, 2, 3], A=[1, 3], B=[0, 2])
    for g, rows in groups.items():
        assert t.loc[g, "n_dwps"] == len(rows)
        q1 = q[rows, 0]
        assert t.loc[g, "pr1"] == pytest.approx(1 / q1.mean())
        assert t.loc[g, "pr1_err"] == pytest.approx(sem(q1) / q1.mean() ** 2)
        for k in (2, 3, 4):
            assert t.loc[g, f"pr{k}"] == pytest.approx(q[rows, k - 1].mean())
            assert t.loc[g, f"pr{k}_err"] == pytest.approx(sem(q[rows, k - 1]))
    # the two B DWPs: 1 and 4 particles moving the same distance
    assert t.loc["B", "pr1"] == pytest.approx(1 / 0.625) and t.loc["B", "pr2"] == pytest.approx(2.5)


def test_sorted_displacements(four):
    s = SortedDisplacements(ranks=5).compute(four)
    assert s.curves.shape == (4, N)
    assert np.all(np.diff(s.curves, axis=1) <= 0)
    t = s.table.set_index(["group", "rank"])
    # central A: [0.2, 0.2, 0…] and [0.2, 0.1, 0…]; central B: [0.3, 0…] and [0.1 × 4, 0…]
    assert t.loc[("A", 1), "mean"] == pytest.approx(0.2) and t.loc[("A", 1), "err"] == pytest.approx(0)
    assert t.loc[("A", 2), "mean"] == pytest.approx(0.15) and t.loc[("A", 2), "err"] == pytest.approx(0.05)
    assert t.loc[("A", 3), "mean"] == pytest.approx(0)
    assert t.loc[("B", 1), "mean"] == pytest.approx(0.2) and t.loc[("B", 1), "err"] == pytest.approx(0.1)
    for r in (2, 3, 4):
        assert t.loc[("B", r), "mean"] == pytest.approx(0.05)
    assert t.loc[("B", 5), "mean"] == pytest.approx(0)
    assert t.loc[("all", 1), "mean"] == pytest.approx(np.mean([0.3, 0.2, 0.1, 0.2]))
    assert t.loc[("A", 1), "n_dwps"] == 2 and t.loc[("all", 1), "n_dwps"] == 4
    cb = s.central_b
    assert (cb["k"], cb["n"], cb["value"], cb["err"]) == (2, 4, 0.5, pytest.approx(0.25))
    assert cb["low"] < 0.5 < cb["high"] and cb["particle_fraction"] == pytest.approx(13 / 65)
    # DWPs 1 (two equal A) and 2 (four equal B) are ambiguous, of the same type each: no flip;
    # the unambiguous ones are 0 (central B) and 3 (central A, second at half its |d|)
    assert (cb["ambiguous_ratio"], cb["n_ambiguous"], cb["n_flip"]) == (0.9, 2, 0)
    assert (cb["unambiguous"]["k"], cb["unambiguous"]["n"], cb["unambiguous"]["value"]) == (1, 2, 0.5)


def test_ambiguous_central_particles_and_the_unambiguous_b_fraction():
    types = np.r_[np.zeros(6, int), np.ones(2, int)]  # 0…5 A, 6…7 B
    amp = np.array([
        [0.30, 0.10, 0, 0, 0, 0, 0.0, 0.0],   # central A, clear
        [0.30, 0.00, 0, 0, 0, 0, 0.29, 0.0],  # central A, B at 97 %: ambiguous and could flip
        [0.00, 0.20, 0, 0, 0, 0, 0.0, 0.40],  # central B, clear
        [0.00, 0.00, 0, 0, 0, 0, 0.50, 0.46],  # central B, B at 92 %: ambiguous, no flip
        [0.19, 0.00, 0, 0, 0, 0, 0.20, 0.0],  # central B, A at 95 %: could flip
    ])
    a = ambiguity(amp, types)
    assert (a["n_ambiguous"], a["n_flip"]) == (3, 2)
    u = a["unambiguous"]
    assert (u["k"], u["n"], u["value"]) == (1, 2, 0.5)
    strict = ambiguity(amp, types, threshold=0.95)  # 0.95 itself is not above 0.95
    assert (strict["n_ambiguous"], strict["n_flip"], strict["unambiguous"]["n"]) == (1, 1, 4)
    empty = ambiguity(np.zeros((0, 8)), types)
    assert empty["n_ambiguous"] == 0 and math.isnan(empty["unambiguous"]["value"])


def test_found_count_histogram(four):
    h = FoundCountHistogram().compute(four)  # counts 10, 1, 3, 1; PR2 1, 2, 4, 1.25 (mean 2.0625)
    t = h.table.set_index("found_low")
    assert t.n_dwps.sum() == 4 and t.loc[1, "n_dwps"] == 2 and t.loc[3, "n_dwps"] == 1 and t.loc[10, "n_dwps"] == 1
    assert t.loc[1, "n_dwps_err"] == pytest.approx(math.sqrt(2))
    assert t.n_high_pr.sum() == 1 and t.loc[3, "n_high_pr"] == 1  # only the 4-particle DWP is above average
    s = h.summary
    assert s["pr_average"] == pytest.approx(2.0625) and s["mean_found"] == pytest.approx(3.75)
    assert s["found_once"] == 0.5 and s["tries"] == 100
    # definition 1: per-DWP ratio 1/q1 = 1, 2, 4, 1.25 against 1/<q1> = 1.5686
    s1 = FoundCountHistogram(pr="pr1").compute(four).summary
    assert s1["pr_average"] == pytest.approx(1 / 0.6375)
    assert s1["n_high_pr"] == 2 and s1["mean_found_high_pr"] == pytest.approx(2.0)


def test_participation_vs_distance(tmp_path):
    moves = [{B5: 0.12}, {3: 0.1, 4: -0.1}, {5: 0.21, 6: -0.21, 7: (0, 0.21, 0), 8: (0, 0, 0.21)}]
    cat = make_catalog(tmp_path / "c", [dict(energy=-290.0, dwps=[dict(disp=disp(N, m)) for m in moves])])
    # d = 0.12 and 0.1414 in [0.10, 0.15); d = 0.42 in [0.40, 0.45)
    t = ParticipationVsDistance().compute(cat).table
    assert list(t.n_dwps) == [2, 1]
    assert t.d_low.to_numpy() == pytest.approx([0.10, 0.40])
    assert t.pr.to_numpy() == pytest.approx([1.5, 4.0])
    assert t.pr_err.iloc[0] == pytest.approx(0.5) and math.isnan(t.pr_err.iloc[1])
    t1 = ParticipationVsDistance(pr="pr1").compute(cat).table
    assert t1.pr.iloc[0] == pytest.approx(1 / np.mean([1.0, 0.5]))


# --------------------------------------------------------------------- distances and asymmetries
def test_distance_histogram(tmp_path):
    ds = [(0.12, 0.01), (0.13, 0.019), (0.37, 0.001), (0.14, 0.05), (0.6, 0.02)]  # (d, Δ); Δ < 0.02 keeps 3
    cat = make_catalog(tmp_path / "c", [dict(energy=-290.0, dwps=[dict(disp=disp(N, {2: d}), asymmetry=a)
                                                                  for d, a in ds])])
    h = DistanceHistogram().compute(cat)
    t = h.table
    assert t.d_low.iloc[0] == 0 and t.d_high.iloc[-1] == pytest.approx(0.40) and len(t) == 8
    assert t["count"].sum() == 3
    counts = dict(zip(np.round(t.d_low, 2), t["count"]))
    assert counts[0.1] == 2 and counts[0.35] == 1
    assert (t.pdf * 0.05).sum() == pytest.approx(1.0)
    s = h.summary
    assert (s["n_dwps"], s["n_selected"]) == (5, 3) and s["mean"] == pytest.approx((0.12 + 0.13 + 0.37) / 3)
    wide = DistanceHistogram(delta_max=0.1).compute(cat)
    assert wide.summary["n_selected"] == 5
    # mass-weighted distance of a B particle: √(m_B/m_A) |d|
    cat_b = make_catalog(tmp_path / "b", [dict(energy=-290.0, dwps=[dict(disp=disp(N, {B5: 0.3}), asymmetry=0.01)])])
    assert DistanceHistogram(distance="d_mw").compute(cat_b).distances == pytest.approx([0.3 * math.sqrt(0.5)])


def test_tls_density(tmp_path):
    asym = [0.0005, 0.01, 0.015, 0.3]
    cat = make_catalog(tmp_path / "c", [
        dict(energy=-290.0, dwps=[dict(disp=disp(N, {2: 0.3}), asymmetry=a) for a in asym[:3]]),
        dict(energy=-291.0, dwps=[dict(disp=disp(N, {2: 0.3}), asymmetry=asym[3])])])
    tls = TLSDensity().compute(cat)
    t = tls.table.set_index("delta_max")
    norm = 2 * 65  # 2 IS × 65 particles
    assert t.loc[0.02, "n_dwps"] == 3 and t.loc[0.001, "n_dwps"] == 1
    assert t.loc[0.02, "per_is"] == 1.5
    assert t.loc[0.02, "per_particle"] == pytest.approx(3 / norm)
    assert t.loc[0.02, "per_particle_err"] == pytest.approx(math.sqrt(3) / norm)
    per_m3 = 3 / norm * 1.2 / (2.2e-10) ** 3
    assert t.loc[0.02, "per_m3"] == pytest.approx(per_m3)
    assert t.loc[0.02, "per_J_m3"] == pytest.approx(per_m3 / (0.02 * 933.9 * 1.380649e-23))
    assert t.loc[0.001, "per_J_m3"] == pytest.approx(1 / norm * 1.2 / (2.2e-10) ** 3 / (0.001 * 933.9 * 1.380649e-23))
    assert t.loc[0.001, "delta_max_K"] == pytest.approx(0.9339)
    assert list(tls.cumulative.asymmetry) == asym and tls.cumulative.per_particle.iloc[-1] == pytest.approx(4 / norm)
    empty = TLSDensity(delta_max=[1e-6]).compute(cat).table.iloc[0]
    assert empty.n_dwps == 0 and empty.per_particle == 0 and empty.per_particle_err == pytest.approx(1 / norm)


def test_against_is_energy(tmp_path):
    one = lambda a, r: dict(disp=disp(N, {2: 0.3}), asymmetry=a, d_mwrp=r)
    cat = make_catalog(tmp_path / "c", [
        dict(energy=-290.0, dwps=[]),
        dict(energy=-291.0, dwps=[one(0.1, 0.2)]),
        dict(energy=-292.0, dwps=[one(0.2, 0.2), one(0.4, 0.6)]),
        dict(energy=-293.0, dwps=[one(0.1, 0.2), one(0.2, 0.4), one(0.3, 0.7)]),
    ])
    a = AgainstISEnergy(bins=2, d_mwrp_max=[0.3, 0.5]).compute(cat)
    t = a.per_is.set_index(["energy_bin", "subset"])
    low, high = 0, 1  # bin 0: the two lowest IS energies (−293, −292), bin 1: −291, −290
    assert t.loc[(low, "all"), "n_is"] == 2 and t.loc[(low, "all"), "dwps_per_is"] == pytest.approx(2.5)
    assert t.loc[(low, "all"), "dwps_per_is_err"] == pytest.approx(0.5)
    assert t.loc[(high, "all"), "dwps_per_is"] == pytest.approx(0.5)
    assert t.loc[(low, "d_mwrp < 0.3"), "dwps_per_is"] == pytest.approx(1.0)
    assert t.loc[(low, "d_mwrp < 0.5"), "dwps_per_is"] == pytest.approx(1.5)
    assert t.loc[(low, "all"), "e_mean"] == pytest.approx(-292.5 / 65)
    m = a.dwp_means.set_index(["energy_bin", "quantity"])
    assert m.loc[(low, "asymmetry"), "mean"] == pytest.approx(np.mean([0.2, 0.4, 0.1, 0.2, 0.3]))
    assert m.loc[(high, "asymmetry"), "n"] == 1
    assert len(a.points) == 6 and a.points.e_is.min() == pytest.approx(-293 / 65)


# --------------------------------------------------------------------- finite size
def test_dwps_per_minimum_across_sizes(tmp_path):
    one = dict(disp=disp(N, {2: 0.3}))
    c65 = make_catalog(tmp_path / "n65", [dict(energy=-290.0, dwps=[one] * k) for k in (2, 0, 1, 1)])
    two = dict(disp=disp(2 * N, {2: 0.3}))
    c2x65 = make_catalog(tmp_path / "n2x65", [dict(energy=-580.0, dwps=[two] * k) for k in (3, 1)], copies=2)
    t = DWPsPerMinimum().compute([c65, c2x65]).table
    assert list(t.label) == ["N = 65", "2 × 65"] and list(t.n_particles) == [65, 130]
    assert list(t.n_is) == [4, 2] and list(t.n_dwps) == [4, 4]
    assert t.dwps_per_is.tolist() == pytest.approx([1.0, 2.0])
    assert t.dwps_per_is_err.tolist() == pytest.approx([math.sqrt(2 / 3) / 2, 1.0])
    assert t.dwps_per_particle.tolist() == pytest.approx([1 / 65, 1 / 65])
    assert t.ratio_to_first.tolist() == pytest.approx([1.0, 1.0])
    assert t.ratio_to_first_err.iloc[1] == pytest.approx(math.hypot(0.5, math.sqrt(2 / 3) / 2))
    assert list(DWPsPerMinimum(labels=["a", "b"]).compute([c65, c2x65]).table.label) == ["a", "b"]
    with pytest.raises(ValueError, match="one label each"):
        DWPsPerMinimum(labels=["a"]).compute([c65, c2x65])


# --------------------------------------------------------------------- spatial correlation
def test_central_particle_correlation(tmp_path):
    system = tlsviz.KobAndersen(n=N)
    box = system.box
    x1 = lattice(N, box, seed=1)
    x1[B1] = (0.1, 0.1, 0.1)
    x1[B4] = (box - 0.4, 0.1, 0.1)  # 0.5 from B1 through the periodic boundary
    m = lambda moves: dict(disp=disp(N, moves))
    cat = make_catalog(tmp_path / "c", [
        dict(energy=-290.0, dwps=[m({B5: 0.3}), m({B5: 0.2, 7: 0.1})]),     # two DWPs, same central B
        dict(energy=-290.0, positions=x1, dwps=[m({B1: 0.3}), m({B4: 0.3})]),  # two, different central B
        dict(energy=-290.0, dwps=[m({3: 0.3}), m({B5: 0.3})]),              # A and B: left out
        dict(energy=-290.0, dwps=[m({B3: 0.3})]),                           # one DWP: left out
        dict(energy=-290.0, dwps=[m({B1: 0.3}), m({B2: 0.3}), m({B3: 0.3})]),  # three: left out
    ])
    c = CentralParticleCorrelation().compute(cat)
    s = c.summary
    assert (s["n_type"], s["n_is_two_dwps"], s["n_pairs"], s["n_shared"]) == (13, 3, 2, 1)
    assert s["shared"] == 0.5 and s["expected_shared"] == pytest.approx(1 / 13)
    assert s["shared_low"] < 0.5 < s["shared_high"]
    assert list(c.pairs.is_id) == [0, 1] and list(c.pairs.shared) == [True, False]
    assert s["n_different"] == 1 and s["mean_distance"] == pytest.approx(0.5)
    # random B–B pairs, brute force
    b = np.flatnonzero(system.types == 1)

    def mean_pair_distance(x):
        ds = []
        for i in range(len(b)):
            for j in range(i + 1, len(b)):
                v = x[b[j]] - x[b[i]]
                v -= box * np.round(v / box)
                ds.append(np.linalg.norm(v))
        return np.mean(ds), ds

    m0, d0 = mean_pair_distance(cat.positions("is", 0))
    m1, d1 = mean_pair_distance(cat.positions("is", 1))
    assert c.pairs.random_mean.tolist() == pytest.approx([m0, m1])
    assert s["random_mean_distance"] == pytest.approx((m0 + m1) / 2)
    assert len(c.random_distances) == 2 * 78
    assert s["random_sd"] == pytest.approx(np.std(d0 + d1, ddof=1))
    assert s["z"] == pytest.approx((0.5 - (m0 + m1) / 2) / s["random_sd"])
    # central A instead: IS 2 has one A and one B DWP, so no pairs
    a = CentralParticleCorrelation(central_type="A").compute(cat).summary
    assert a["n_pairs"] == 0 and a["n_type"] == 52 and math.isnan(a["shared"])


def test_central_correlation_two_copies(tmp_path):
    m = lambda moves: dict(disp=disp(2 * N, moves))
    cat = make_catalog(tmp_path / "c", [dict(energy=-580.0, dwps=[m({60: 0.3}), m({65 + 60: 0.3})])], copies=2)
    s = CentralParticleCorrelation().compute(cat).summary
    assert s["n_type"] == 26 and s["expected_shared"] == pytest.approx(1 / 26)
    assert s["n_pairs"] == 1 and s["n_shared"] == 0 and s["n_different"] == 1


# --------------------------------------------------------------------- API and plots
ALL = [DistanceHistogram, FoundCountHistogram, TLSDensity, AgainstISEnergy, SortedDisplacements,
       ParticipationRatioTable, ParticipationVsDistance, CentralParticleCorrelation]


@pytest.mark.parametrize("cls", ALL)
def test_compute_returns_self_and_plots_with_units(cls, four):
    obj = cls()
    with pytest.raises(RuntimeError, match="compute"):
        getattr(obj, next(p for p in ("table", "summary", "per_is") if hasattr(cls, p)))
    assert obj.compute(four) is obj
    ax = obj.plot(ax=axes())
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    ax.figure.savefig(io.BytesIO(), format="png")


@pytest.mark.parametrize("cls", ALL)
def test_a_catalogue_without_dwps(cls, tmp_path):
    cat = make_catalog(tmp_path / "c", [dict(energy=-290.0), dict(energy=-291.0)])
    obj = cls().compute(cat.root)  # a path works too
    obj.plot(ax=axes()).figure.savefig(io.BytesIO(), format="svg")


def test_units_in_axis_labels(four):
    assert "(σ)" in DistanceHistogram().compute(four).plot(ax=axes()).get_xlabel()
    assert "(ε)" in TLSDensity().compute(four).plot(ax=axes()).get_xlabel()
    for y, unit in (("asymmetry", "(ε)"), ("d", "(σ)"), ("barrier", "(ε)")):
        ax = AgainstISEnergy().compute(four).plot(ax=axes(), y=y)
        assert unit in ax.get_ylabel() and "(ε)" in ax.get_xlabel()


def test_bad_parameters():
    with pytest.raises(ValueError, match="distance must be"):
        DistanceHistogram(distance="x")
    with pytest.raises(ValueError, match="pr must be"):
        FoundCountHistogram(pr="pr5")
    with pytest.raises(ValueError, match="central_type"):
        CentralParticleCorrelation(central_type="C")
    with pytest.raises(ValueError, match="thresholds"):
        TLSDensity(delta_max=[0.0])
    with pytest.raises(ValueError, match="y must be"):
        AgainstISEnergy().plot(y="energy")
