"""Aerodynamic coefficient shapes used by the vehicle model.

The drag of every object is ``D = ½ ρ |v|² · CdA · F(M)`` where ``CdA`` (m²) is the
object's drag area at hypersonic speed (from the catalogue) and ``F(M)`` a
dimensionless Mach-number shape normalised to 1 at Mach ≥ 6.

No North Korean missile has published wind-tunnel data. The two shapes below are
**our assumption**, chosen to follow the generic behaviour of the two body
classes we model (documented so a user can replace them):

* ``SLENDER``: a slender body with a pointed nose (boosting stack, reentry
  vehicle): subsonic Cd about half the supersonic peak, a transonic rise peaking
  near Mach 1.1 at about 2.1× the hypersonic value, then a slow fall to the
  hypersonic plateau. The transonic peak of roughly twice the hypersonic value is
  the classic shape of measured slender-body drag curves (e.g. the A-4/V-2
  wind-tunnel curve reproduced in Sutton & Biblarz, *Rocket Propulsion Elements*,
  fig. 4-2, which peaks near Mach 1.2).
* ``TUMBLING``: a spent stage tumbling end over end: drag of a bluff cylinder,
  nearly independent of Mach number above the transonic range (broadside
  cylinder Cd ≈ 1.2 subsonic, ≈ 1.3–1.5 supersonic; Hoerner, *Fluid-Dynamic
  Drag*, ch. 3 and 16), normalised to 1 at hypersonic speed.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numpy.typing import NDArray


class DragShape(IntEnum):
    """Which Mach-number drag shape an object follows."""

    SLENDER = 0
    TUMBLING = 1


_MACH = np.array([0.0, 0.6, 0.8, 0.95, 1.1, 1.3, 1.6, 2.0, 3.0, 4.0, 6.0, 1.0e3])
_SLENDER = np.array([1.05, 1.05, 1.15, 1.65, 2.10, 2.00, 1.80, 1.55, 1.25, 1.10, 1.00, 1.00])
_TUMBLING = np.array([0.85, 0.85, 0.90, 1.00, 1.10, 1.12, 1.10, 1.08, 1.04, 1.02, 1.00, 1.00])


def drag_mach_factor(mach: NDArray[np.float64], shape: NDArray[np.int_]) -> NDArray[np.float64]:
    """Dimensionless drag factor F(M) for each object (1 at hypersonic speed).

    ``mach`` and ``shape`` broadcast together; ``shape`` holds :class:`DragShape`
    values. Piecewise-linear in Mach number between the tabulated points.
    """
    slender = np.interp(mach, _MACH, _SLENDER)
    tumbling = np.interp(mach, _MACH, _TUMBLING)
    return np.where(shape == DragShape.TUMBLING, tumbling, slender)
