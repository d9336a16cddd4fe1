"""Mean radar cross sections of the objects a missile flight produces.

These are *mean* RCS values: the scan-to-scan fluctuation about them is the
Swerling 1 model of :mod:`trilink.sensors.radar`. All values are open-source
order-of-magnitude figures or our assumptions; no classified signature is
used or implied. The same values are used at every radar band (a
simplification: small bodies have a larger RCS at L-band than at X-band).

Aspect model. For a body of revolution seen at aspect angle ψ (between its
axis and the direction to the radar; ψ = 0 nose-on, π tail-on)::

    σ(ψ) = σ_axial(ψ) cos²ψ + σ_side sin²ψ,   σ_axial = σ_nose (cos ψ > 0) or σ_tail

a smooth interpolation between the nose/tail and broadside values (the real
pattern has narrow specular lobes, e.g. a cylinder's broadside flash
2π a L²/λ: Knott, Shaeffer & Tuley, *Radar Cross Section*, 2nd ed., 2004,
table 5.1, which a per-scan mean over the dwell smooths out).

Kinds (:class:`RcsKind`):

* **RV** (the reentry vehicle after it separates): axis along its velocity
  (ballistic, spin-stabilised, small angle of attack). Nose-on 0.01 m²,
  broadside 0.3 m², tail (base) 0.1 m²: **assumption**, inside the
  0.01–0.1 m² band usually quoted in open analyses for an X-band RV (the
  nose-on figure at its lower end); not found in the sources searched.
* **Stack** (the warhead object before ``stack_until_s``: the whole missile,
  boosting or coasting with its stages attached): axis along the velocity
  (gravity turn, small angle of attack); broadside ``k L D`` with L the
  length of what is still attached and D its largest diameter; nose-on is the
  RV's nose, tail-on the nozzle/base of the lowest stage. Thrusting is flagged
  on the detections (truth attribution); the plume's own radar return is
  not modelled.
* **Stage** (a spent stage body, tumbling): the same body model with the
  stage's length and diameter; its axis tumbles at a random rate, so the
  aspect is ``ψ(t) = ψ0 + 2π (t - t_birth)/P`` (ψ0 uniform, P uniform in
  ``tumble_period_s``; **assumption**). Spent stages are large targets: in the
  public satellite catalogue the RCS size class of rocket bodies is almost
  always LARGE (> 1 m²; Space-Track SATCAT ``RCS_SIZE`` classes: SMALL
  < 0.1 m², MEDIUM 0.1–1 m², LARGE > 1 m²).
* **Debris** (fragments released at RV separation): isotropic 0.02 m²
  (**assumption**: between the SMALL-class satellite-catalogue fragments and
  the RV).

``k = 0.5`` (broadside mean RCS per m² of projected area L·D, an
**assumption**: well below the specular flash, above the off-specular
sidelobes).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]


class RcsKind(IntEnum):
    """What an object looks like to a radar at a given time."""

    RV = 0
    STACK = 1
    STAGE = 2
    DEBRIS = 3


@dataclass(frozen=True, kw_only=True)
class RcsModel:
    """Mean-RCS parameters (module docstring gives the basis of each)."""

    rv_nose_m2: float = 0.01
    rv_tail_m2: float = 0.1
    rv_broadside_m2: float = 0.3
    body_end_m2: float = 1.0
    """Nose/tail mean RCS of a stage body or of the stack's base (nozzle), m² (assumption)."""
    body_broadside_per_area: float = 0.5
    """k: broadside mean RCS per m² of projected area L·D (assumption)."""
    debris_m2: float = 0.02
    tumble_period_s: tuple[float, float] = (2.0, 10.0)
    """Range of a spent stage's tumble period, s (uniform; assumption)."""
    default_body_length_m: float = 10.0
    """Used when a body's length is unknown (NaN), m."""
    default_body_diameter_m: float = 1.5
    """Used when a body's diameter is unknown (NaN), m."""

    def __post_init__(self) -> None:
        for name in (
            "rv_nose_m2",
            "rv_tail_m2",
            "rv_broadside_m2",
            "body_end_m2",
            "body_broadside_per_area",
            "debris_m2",
            "default_body_length_m",
            "default_body_diameter_m",
        ):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0.0):
                raise ValueError(f"RcsModel.{name} must be positive, got {v!r}")
        lo, hi = self.tumble_period_s
        if not (0.0 < lo <= hi):
            raise ValueError(f"RcsModel.tumble_period_s must be 0 < lo <= hi, got {lo, hi}")

    def mean_rcs_m2(
        self,
        kind: ArrayLike,
        cos_aspect: ArrayLike,
        length_m: ArrayLike,
        diameter_m: ArrayLike,
    ) -> F64:
        """Mean RCS, m², of rows of objects (all arguments broadcast, shape (N,)).

        Args:
            kind: :class:`RcsKind` codes.
            cos_aspect: cos ψ, the cosine of the angle between the body axis (nose
                direction) and the direction from the object to the radar.
            length_m, diameter_m: body dimensions (of what is attached, for the
                stack); NaN takes the model's defaults. Ignored for RV and debris.
        """
        k = np.asarray(kind)
        c = np.clip(np.asarray(cos_aspect, dtype=float), -1.0, 1.0)
        c2 = c * c
        s2 = 1.0 - c2
        length = np.asarray(length_m, dtype=float)
        diameter = np.asarray(diameter_m, dtype=float)
        length = np.where(np.isfinite(length), length, self.default_body_length_m)
        diameter = np.where(np.isfinite(diameter), diameter, self.default_body_diameter_m)
        body_side = self.body_broadside_per_area * length * diameter
        body = np.where(
            k == RcsKind.STACK,
            np.where(c > 0.0, self.rv_nose_m2, self.body_end_m2) * c2 + body_side * s2,
            self.body_end_m2 * c2 + body_side * s2,
        )
        rv = np.where(c > 0.0, self.rv_nose_m2, self.rv_tail_m2) * c2 + self.rv_broadside_m2 * s2
        out = np.where(k == RcsKind.RV, rv, body)
        out = np.where(k == RcsKind.DEBRIS, self.debris_m2, out)
        return np.broadcast_to(out, np.broadcast_shapes(k.shape, c.shape)).astype(float)


DEFAULT_RCS = RcsModel()
"""The RCS model used unless another is passed to the simulation."""
