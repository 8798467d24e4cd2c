"""Compile (and cache on disk) every numba kernel a notebook uses; run by binder/postBuild.

The cache goes where tlsviz points numba (``~/.cache/tlsviz/numba/src-<key>``, or ``NUMBA_CACHE_DIR``:
tlsviz/_numba_cache.py). Binder builds and runs the image as the same user with the same
home, so the notebooks' kernels find what this script compiled.
"""

import os
import time

t0 = time.perf_counter()
import tlsviz  # noqa: E402
from tlsviz.demo import demo_catalog  # noqa: E402
from tlsviz.widgets import Explorer  # noqa: E402

system = tlsviz.KobAndersen(n=65)
cat = demo_catalog()
x = cat.positions("is", int(cat.dwps.is_id.iloc[0]))
system.quench(system.random_positions(seed=0), ftol=1e-3)
system.quench(x, method="lbfgs")
v = system.maxwell_velocities(0.5, seed=1)
system.nve(x, v, 10)
system.nvt(x, v, 10, 0.5, seed=1)
system.hessian(x)
tlsviz.search_dwps(system, x, tries=40, seed=7)   # tries, ridge saddle, descent paths
tlsviz.KobAndersen(n=260).quench(tlsviz.KobAndersen(n=260).random_positions(seed=0), ftol=1e-2)  # Verlet list
Explorer()
print(f"numba kernels compiled and cached in {time.perf_counter() - t0:.0f} s "
      f"(in {os.environ.get('NUMBA_CACHE_DIR', 'numba default places')})")
