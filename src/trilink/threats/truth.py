"""Truth: every object's state sampled on a common clock (the truth-table contract).

Columns (DESIGN.md, "Truth table"): ``time_s, object_id, x_ecef_m, y_ecef_m,
z_ecef_m, vx_ecef_mps, vy_ecef_mps, vz_ecef_mps, kind``. One row per object per
sample time while the object exists: from launch (the warhead, which is the
whole stack until its separation) or from its separation (stages, debris) to
its impact, which is always included as the object's last row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from trilink.threats.flight import Flight

TRUTH_COLUMNS = (
    "time_s",
    "object_id",
    "x_ecef_m",
    "y_ecef_m",
    "z_ecef_m",
    "vx_ecef_mps",
    "vy_ecef_mps",
    "vz_ecef_mps",
    "kind",
)


def truth_table(
    flights: Sequence[Flight], step_s: float = 1.0, t_end_s: float | None = None
) -> dict[str, NDArray]:
    """Sample every object of ``flights`` every ``step_s`` seconds (from t = 0).

    Returns a column dict (numpy arrays) in the truth-table layout, ordered by
    time then object id. ``t_end_s`` cuts the table (scenario duration).
    """
    if step_s <= 0:
        raise ValueError(f"step_s must be positive, got {step_s}")
    times: list[NDArray] = []
    ids: list[NDArray] = []
    states: list[NDArray] = []
    kinds: list[NDArray] = []
    for f in flights:
        for o in f.objects:
            if o.t_s.size < 2:
                raise ValueError(f"{o.object_id}: flight was not recorded (fly with record=True)")
            t_last = o.t_s[-1] if t_end_s is None else min(o.t_s[-1], t_end_s)
            k0 = np.ceil(o.t_s[0] / step_s)
            k1 = np.floor(t_last / step_s)
            t = np.arange(k0, k1 + 1) * step_s
            if t_end_s is None or o.t_s[-1] <= t_end_s:
                if t.size == 0 or t[-1] < o.t_s[-1]:
                    t = np.append(t, o.t_s[-1])  # the impact itself
            t = t[(t >= o.t_s[0]) & (t <= o.t_s[-1])]
            times.append(t)
            states.append(o.states_at(t))
            ids.append(np.full(t.size, o.object_id, dtype=object))
            kinds.append(np.full(t.size, o.kind.value, dtype=object))
    if not times:
        return {c: np.empty(0) for c in TRUTH_COLUMNS}
    t_all = np.concatenate(times)
    id_all = np.concatenate(ids)
    s_all = np.concatenate(states)
    k_all = np.concatenate(kinds)
    order = np.lexsort((id_all.astype(str), t_all))
    cols: dict[str, NDArray] = {"time_s": t_all[order], "object_id": id_all[order]}
    for j, name in enumerate(TRUTH_COLUMNS[2:8]):
        cols[name] = s_all[order, j]
    cols["kind"] = k_all[order]
    return cols
