"""Spatial correlation of the DWPs of one IS through their central particles (docs/method.md §7.9)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import Analysis, angstrom_axis, as_catalog, min_image_distances, new_axes, no_data, system_label
from .stats import fraction, mean_sem


class CentralParticleCorrelation(Analysis):
    """docs/method.md §7.9: do two DWPs of one IS share their central particle more often than chance,
    and are their different central particles placed at random?

    Only IS with exactly two DWPs whose central particles are both of ``central_type`` (B by
    default) enter. For independent DWPs the two central particles are the same one with
    probability 1/n_B (n_B: B particles in the system). For the pairs with different central
    particles, their minimum-image distance in the IS is compared with that of random pairs:
    every pair of distinct particles of the same type in the same IS (all of them, not a
    sample). The mean of n random pairs scatters by s_random / √n, which gives ``z``.

    Parameters: central_type ("B" or "A").

    Results: :attr:`pairs` (one row per IS that enters: ``is_id, central_1, central_2, shared,
    distance`` (σ; NaN when shared), ``random_mean`` (mean same-type pair distance of that IS)),
    :attr:`random_distances` (all same-type pair distances of those IS, pooled), :attr:`summary`:
    ``central_type, n_type`` (n_B), ``n_is_two_dwps`` (IS with exactly two DWPs), ``n_pairs``
    (of them, both central particles of the type), ``n_shared, shared, shared_err, shared_low,
    shared_high`` (fraction sharing, binomial error and 68 % Wilson interval), ``expected_shared``
    (1/n_B), ``n_different, mean_distance, mean_distance_err`` (SEM), ``random_mean_distance,
    random_mean_distance_err`` (SEM over the IS of their random-pair means), ``random_sd``
    (standard deviation of one random pair distance), ``expected_err`` (random_sd / √n_different)
    and ``z`` = (mean_distance − random_mean_distance) / expected_err. Distances in σ.
    """

    def __init__(self, central_type: str = "B"):
        if central_type not in ("A", "B"):
            raise ValueError(f"central_type must be 'A' or 'B', got {central_type!r}")
        self.central_type = central_type

    def compute(self, catalog) -> "CentralParticleCorrelation":
        cat = as_catalog(catalog)
        system = cat.system()
        code = "AB".index(self.central_type)
        same_type = np.flatnonzero(system.types == code)
        n_type = len(same_type)
        iu = np.triu_indices(n_type, k=1)
        type_pairs = np.c_[same_type[iu[0]], same_type[iu[1]]]
        dwps = cat.dwps
        rows, pooled = [], []
        n_two = 0
        if len(dwps):
            for is_id, grp in dwps.groupby("is_id", sort=True):
                if len(grp) != 2:
                    continue
                n_two += 1
                if not (grp.central_type == self.central_type).all():
                    continue
                i, j = (int(v) for v in grp.sort_values("dwp_id").central_index)
                x = cat.positions("is", is_id)
                rand = min_image_distances(x, system.box, type_pairs)
                pooled.append(rand)
                dist = float("nan") if i == j else float(min_image_distances(x, system.box, [[i, j]])[0])
                rows.append(dict(is_id=int(is_id), central_1=i, central_2=j, shared=i == j, distance=dist,
                                 random_mean=float(rand.mean()) if len(rand) else float("nan")))
        pairs = pd.DataFrame(rows, columns=["is_id", "central_1", "central_2", "shared", "distance", "random_mean"])
        random_distances = np.concatenate(pooled) if pooled else np.zeros(0)
        shared = fraction(int(pairs.shared.sum()), len(pairs))
        diff = pairs.distance[~pairs.shared.astype(bool)].to_numpy(float)
        mean, sem = mean_sem(diff)
        r_mean, r_sem = mean_sem(pairs.random_mean)
        r_sd = float(random_distances.std(ddof=1)) if len(random_distances) > 1 else float("nan")
        expected_err = r_sd / np.sqrt(len(diff)) if len(diff) else float("nan")
        self._results = dict(pairs=pairs, random_distances=random_distances, label=system_label(cat), summary=dict(
            central_type=self.central_type, n_type=n_type, n_is_two_dwps=n_two, n_pairs=len(pairs),
            n_shared=shared["k"], shared=shared["value"], shared_err=shared["err"], shared_low=shared["low"],
            shared_high=shared["high"], expected_shared=1.0 / n_type if n_type else float("nan"),
            n_different=len(diff), mean_distance=mean, mean_distance_err=sem, random_mean_distance=r_mean,
            random_mean_distance_err=r_sem, random_sd=r_sd, expected_err=float(expected_err),
            z=float((mean - r_mean) / expected_err) if len(diff) and expected_err > 0 else float("nan")))
        return self

    @property
    def pairs(self) -> pd.DataFrame:
        return self._get("pairs")

    @property
    def random_distances(self) -> np.ndarray:
        return self._get("random_distances")

    @property
    def summary(self) -> dict:
        return self._get("summary")

    def plot(self, ax=None):
        ax = new_axes(ax)
        s = self.summary
        t = self.central_type
        if len(self.random_distances):
            edges = np.linspace(0, self.random_distances.max() * 1.0001, 21)
            ax.hist(self.random_distances, bins=edges, density=True, histtype="step", color="0.4",
                    label=f"random {t}–{t} pairs (mean {s['random_mean_distance']:.3f} σ)")
            diff = self.pairs.distance.dropna()
            if len(diff):
                ax.hist(diff, bins=edges, density=True, alpha=0.45, color="C3",
                        label=f"central {t}–{t}, different ({len(diff)}; mean {s['mean_distance']:.3f} σ)")
                ax.axvline(s["mean_distance"], color="C3", lw=1)
            ax.axvline(s["random_mean_distance"], color="0.4", lw=1, ls="--")
            ax.legend(fontsize="small", loc="upper left")
            ax.text(0.98, 0.97, f"same central {t}: {s['n_shared']} of {s['n_pairs']}\n"
                                f"(1/n_{t} = {s['expected_shared']:.3f})", transform=ax.transAxes,
                    ha="right", va="top", fontsize="small")
        else:
            no_data(ax, f"no IS with exactly two DWPs of central {t}")
        ax.set_xlabel("distance between the central particles (σ)")
        ax.set_ylabel("probability density (σ⁻¹)")
        ax.set_title(f"{self.label}: central particles of two DWPs of one IS", fontsize="medium")
        angstrom_axis(ax, "x")
        return ax
