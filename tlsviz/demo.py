"""The built-in demo catalogue: a small N = 65 campaign shipped inside the package.

It lets the explorer and the notebooks start in seconds. It is made by
:func:`build_demo_catalog` (``python -m tlsviz.demo``) from a fixed seed, so anyone can
rebuild it and get the same catalogue; since every IS of a campaign depends only on
(seed, is_id), a rebuild with fewer IS reproduces the first IS of the shipped one.
"""

from __future__ import annotations

import argparse
import shutil
from importlib import resources
from pathlib import Path

from .campaign import CampaignConfig, run_campaign
from .catalog import Catalog

#: The demo campaign: N = 65, 30 IS at T_equil = 0.5, 400 tries each, default search.
DEMO_CONFIG = CampaignConfig(n=65, minima=30, tries=400, t_equil=0.5, seed=2026)


def demo_catalog_path() -> Path:
    """Where the shipped demo catalogue lives (inside the installed package)."""
    return Path(str(resources.files("tlsviz") / "data" / "demo-catalog"))


def demo_catalog() -> Catalog:
    """Open the shipped demo catalogue."""
    path = demo_catalog_path()
    if not (path / "campaign.json").exists():
        raise FileNotFoundError(f"the demo catalogue is missing from this installation ({path}); "
                                "rebuild it with: python -m tlsviz.demo")
    return Catalog.open(path)


def build_demo_catalog(out, minima: int = DEMO_CONFIG.minima, workers: int = 1, progress=None) -> Catalog:
    """Build the demo catalogue (or its first ``minima`` IS) into ``out``, without the lock file."""
    config = CampaignConfig(**{**DEMO_CONFIG.__dict__, "minima": minima})
    cat = run_campaign(config, out, workers=workers, progress=progress)
    (Path(out) / ".lock").unlink(missing_ok=True)
    return cat


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tlsviz.demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(demo_catalog_path()), help="default: the package's data folder")
    p.add_argument("--minima", type=int, default=DEMO_CONFIG.minima)
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    cat = build_demo_catalog(out, args.minima, args.workers,
                             progress=lambda s: print(f"IS {s.is_done}/{s.is_total}, {s.dwps} DWPs", flush=True))
    print(f"{cat!r} written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
