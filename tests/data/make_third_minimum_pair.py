"""Write tests/data/third-minimum-pair.npz: a glass pair (N = 65) whose ridge walk fails and which is
joined through a third minimum (tests/test_search.py). Run from the repository root:
``python tests/data/make_third_minimum_pair.py``.

The pair is IS 27 of the demo campaign (``tlsviz.demo.DEMO_CONFIG``: every IS depends only on
(seed, is_id)) and the second accepted minimum of its search, which the ridge method dismissed
with "no saddle found (ridge step size underflow …)" before the search looked for a third minimum.
"""

from pathlib import Path

import numpy as np

import tlsviz
from tlsviz.campaign import compute_is
from tlsviz.demo import DEMO_CONFIG


def main():
    out = compute_is(DEMO_CONFIG, 27)
    dis = out["tables"]["dismissed"]
    rows = np.flatnonzero(dis.reason.str.startswith("connects a third minimum").to_numpy()
                          | dis.reason.str.startswith("no saddle found").to_numpy())
    j = int(rows[-1])
    system = tlsviz.KobAndersen(n=DEMO_CONFIG.n)
    x_is = out["arrays"]["is_positions"]
    x_min = out["arrays"]["dismissed_minimum"][j]
    np.savez_compressed(Path(__file__).with_name("third-minimum-pair.npz"), is_positions=x_is,
                        min_positions=x_min, E_IS=system.energy(x_is), E_min=system.energy(x_min),
                        reason=str(dis.reason.iloc[j]))


if __name__ == "__main__":
    main()
