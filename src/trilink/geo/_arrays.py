"""Input checking shared by the public functions of :mod:`trilink.geo` (private).

Every public entry point converts its inputs here so that a wrong shape or a
non-numeric value fails early with a ``ValueError`` that names the argument,
instead of a broadcasting error deep inside a formula.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

#: Largest accepted |latitude|, rad: π/2 plus a little round-off slack. Anything
#: larger is almost certainly a value in degrees passed where radians are meant.
LATITUDE_LIMIT_RAD: float = math.pi / 2.0 + 1e-9


def as_float(value: ArrayLike, name: str) -> FloatArray:
    """``value`` as a float64 array (0-d for a scalar); ValueError naming ``name``."""
    try:
        out = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real number or an array of real numbers: {exc}") from (
            exc
        )
    return out


def as_points(value: ArrayLike, name: str) -> FloatArray:
    """``value`` as a float64 array of shape (..., 3); ValueError naming ``name``."""
    out = as_float(value, name)
    if out.ndim == 0 or out.shape[-1] != 3:
        raise ValueError(
            f"{name} must have shape (..., 3) (x, y, z in the last axis); got shape {out.shape}"
        )
    return out


def broadcast_shape(**shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The broadcast of the given shapes; ValueError naming the arguments if they clash."""
    try:
        return np.broadcast_shapes(*shapes.values())
    except ValueError:
        listing = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"shapes do not broadcast together: {listing}") from None


def check_latitude(lat_rad: FloatArray, name: str) -> None:
    """Raise ValueError if any |latitude| > π/2 (NaN passes: NaN in gives NaN out)."""
    if lat_rad.size and np.fmax.reduce(np.abs(lat_rad), axis=None) > LATITUDE_LIMIT_RAD:
        worst = float(np.fmax.reduce(np.abs(lat_rad), axis=None))
        raise ValueError(
            f"{name} must be a latitude in radians within [-π/2, π/2]; got |{name}| up to "
            f"{worst:.6g} (degrees passed as radians?)"
        )


def scalar_out(value: FloatArray) -> FloatArray:
    """Turn a 0-d array into a numpy scalar; leave N-d arrays alone."""
    return value[()]
