"""The shipped demo catalogue: present, small, and what its script makes."""

import numpy as np
import pandas as pd

from tlsviz.demo import DEMO_CONFIG, build_demo_catalog, demo_catalog, demo_catalog_path


def test_demo_catalogue_is_shipped_and_small():
    cat = demo_catalog()
    assert len(cat.minima) == DEMO_CONFIG.minima
    assert len(cat.dwps) >= 10, "a demo needs DWPs to show"
    assert cat.params["seed"] == DEMO_CONFIG.seed and cat.params["tries"] == DEMO_CONFIG.tries
    size = sum(f.stat().st_size for f in demo_catalog_path().rglob("*") if f.is_file())
    assert size < 5e6
    assert not (demo_catalog_path() / ".lock").exists()


def test_rebuilding_at_reduced_size_reproduces_the_shipped_structures(tmp_path):
    """Every IS depends only on (seed, is_id): the first four rebuilt IS (IS 3 has a DWP) equal
    the first four shipped."""
    shipped = demo_catalog()
    k = 4
    assert (shipped.dwps.is_id < k).any()
    rebuilt = build_demo_catalog(tmp_path / "demo", minima=k)
    pd.testing.assert_frame_equal(rebuilt.minima, shipped.minima[shipped.minima.is_id < k].reset_index(drop=True),
                                  check_exact=False, rtol=1e-9)
    want = shipped.dwps[shipped.dwps.is_id < k].reset_index(drop=True)
    pd.testing.assert_frame_equal(rebuilt.dwps, want, check_exact=False, rtol=1e-8, atol=1e-10)
    want_dis = shipped.dismissed[shipped.dismissed.is_id < k].reset_index(drop=True)
    pd.testing.assert_frame_equal(rebuilt.dismissed, want_dis, check_exact=False, rtol=1e-8)
    for i in range(k):
        np.testing.assert_allclose(rebuilt.positions("is", i), shipped.positions("is", i), atol=1e-10)
    for i in range(len(rebuilt.dwps)):
        np.testing.assert_allclose(rebuilt.path(i), shipped.path(i), atol=1e-7)
    assert len(rebuilt.minima) == k and len(rebuilt.dwps) >= 1


def test_demo_paths_rise_to_the_saddle_and_fall_to_both_minima():
    cat = demo_catalog()
    for i in range(len(cat.dwps)):
        e = cat.path_energies(i)
        mid = len(e) // 2
        assert np.argmax(e) == mid
        assert np.all(np.diff(e[: mid + 1]) > 0) and np.all(np.diff(e[mid:]) < 0)
        assert e[mid] == np.float64(cat.dwps.saddle_energy.iloc[i])
