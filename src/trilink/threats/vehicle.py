"""The multistage vehicle model: stages, reentry vehicle, missile.

Immutable, keyword-only dataclasses; SI units with the unit in every name. Derived
quantities (thrust, mass flow, drag areas) are properties, so a catalogue entry
states only what the public record can support.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from trilink.geo.constants import STANDARD_GRAVITY_MPS2

TUMBLING_DRAG_COEFFICIENT = 1.2
"""Hypersonic drag coefficient of a tumbling spent stage on its mean projected area
(our assumption: bluff cylinder, cf. Hoerner, *Fluid-Dynamic Drag*, ch. 16)."""


@dataclass(frozen=True, kw_only=True)
class Stage:
    """One propulsive stage.

    Thrust is ``ṁ·g0·Isp`` with constant mass flow ``ṁ = m_prop / t_burn``; below
    vacuum it loses ``p(h)·A_exit`` (see :mod:`trilink.threats.dynamics`).
    """

    propellant_mass_kg: float
    dry_mass_kg: float
    burn_time_s: float
    isp_vac_s: float
    isp_sl_s: float
    diameter_m: float
    length_m: float
    drag_coefficient: float = 0.25
    """Hypersonic Cd of the stack while this stage is the lowest one, on its
    cross-section ``π d²/4``."""
    ignition_delay_s: float = 0.0
    """Coast between the previous stage's separation and this stage's ignition, s."""
    separation_delay_s: float = 0.0
    """Coast with this spent stage still attached after burnout, s."""

    def __post_init__(self) -> None:
        for name in (
            "propellant_mass_kg",
            "dry_mass_kg",
            "burn_time_s",
            "isp_vac_s",
            "isp_sl_s",
            "diameter_m",
            "length_m",
            "drag_coefficient",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"Stage.{name} must be a positive number, got {value!r}")
        if self.isp_sl_s > self.isp_vac_s:
            raise ValueError(
                f"Stage.isp_sl_s ({self.isp_sl_s}) must not exceed isp_vac_s ({self.isp_vac_s})"
            )
        for name in ("ignition_delay_s", "separation_delay_s"):
            if getattr(self, name) < 0.0:
                raise ValueError(f"Stage.{name} must be ≥ 0, got {getattr(self, name)!r}")

    @property
    def mass_flow_kgps(self) -> float:
        return self.propellant_mass_kg / self.burn_time_s

    @property
    def thrust_vac_n(self) -> float:
        return self.mass_flow_kgps * STANDARD_GRAVITY_MPS2 * self.isp_vac_s

    @property
    def thrust_sl_n(self) -> float:
        return self.mass_flow_kgps * STANDARD_GRAVITY_MPS2 * self.isp_sl_s

    @property
    def cross_section_m2(self) -> float:
        return math.pi * self.diameter_m**2 / 4.0

    @property
    def tumbling_drag_area_m2(self) -> float:
        """Cd·A of the spent stage tumbling: the mean projected area of a convex body
        is a quarter of its surface (Cauchy's projection formula), times
        :data:`TUMBLING_DRAG_COEFFICIENT`."""
        d, length = self.diameter_m, self.length_m
        surface = math.pi * d * length + 0.5 * math.pi * d**2
        return TUMBLING_DRAG_COEFFICIENT * surface / 4.0


@dataclass(frozen=True, kw_only=True)
class ReentryVehicle:
    """The payload that flies to the target (or, if it does not separate, the body
    that reenters with it)."""

    mass_kg: float
    ballistic_coefficient_kgpm2: float
    """β = m / (Cd·A) at hypersonic speed, kg/m², of the object that reenters."""
    length_m: float
    base_diameter_m: float
    lift_to_drag: float = 0.0
    """L/D available for a terminal pull-up (KN-23 class); 0 for a ballistic RV."""
    pullup_alt_m: float = 0.0
    """Altitude below which a descending manoeuvring RV pulls up, m."""

    def __post_init__(self) -> None:
        for name in ("mass_kg", "ballistic_coefficient_kgpm2", "length_m", "base_diameter_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"ReentryVehicle.{name} must be positive, got {value!r}")
        if self.lift_to_drag < 0.0 or self.pullup_alt_m < 0.0:
            raise ValueError("ReentryVehicle.lift_to_drag and pullup_alt_m must be ≥ 0")


@dataclass(frozen=True, kw_only=True)
class Missile:
    """A missile: stages bottom-up, a reentry vehicle, and where the figures come from."""

    key: str
    """Command-line name, lower case with hyphens (``hwasong-18``)."""
    name: str
    stages: tuple[Stage, ...]
    rv: ReentryVehicle
    rv_separates: bool = True
    """False for a missile whose body reenters with its warhead (KN-23, Iskander)."""
    vertical_rise_s: float = 8.0
    """Vertical rise after lift-off before the pitch-over starts, s."""
    pitch_ramp_end_s: float | None = None
    """Time after launch at which the pitch-over ramp ends (None: at the end of the
    first stage's burn). Short-range missiles pitch over fast (our assumption)."""
    propellant: str = "liquid"
    sources: tuple[str, ...] = ()
    notes: str = ""
    estimates: tuple[str, ...] = field(default=())
    """Which figures are estimates (analyst, DPRK claim, or ours), in words."""

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValueError(f"Missile {self.key!r} needs at least one stage")

    @property
    def launch_mass_kg(self) -> float:
        return self.rv.mass_kg + sum(s.propellant_mass_kg + s.dry_mass_kg for s in self.stages)

    @property
    def reentry_drag_area_m2(self) -> float:
        """Hypersonic Cd·A of the reentering object, m²: its nominal mass (the RV, plus
        the empty last stage if the RV does not separate) over the RV's β. The shape
        is fixed, so a lighter test payload has a proportionally lower β."""
        mass = self.rv.mass_kg + (0.0 if self.rv_separates else self.stages[-1].dry_mass_kg)
        return mass / self.rv.ballistic_coefficient_kgpm2

    @property
    def total_burn_time_s(self) -> float:
        return sum(s.burn_time_s for s in self.stages)

    def ideal_delta_v_mps(self) -> float:
        """Tsiolkovsky Δv in vacuum with full burns, m/s (no gravity or drag losses)."""
        dv = 0.0
        m = self.launch_mass_kg
        for s in self.stages:
            dv += STANDARD_GRAVITY_MPS2 * s.isp_vac_s * math.log(m / (m - s.propellant_mass_kg))
            m -= s.propellant_mass_kg + s.dry_mass_kg
        return dv
