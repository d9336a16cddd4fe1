"""From a validated scenario file to launches, and the built-in scenarios."""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from trilink.scenario.schema import (
    ScenarioError,
    ScenarioFile,
    ThreatSpec,
    load_scenario,
    parse_scenario,
)
from trilink.sensors.catalogue import all_sensors
from trilink.sensors.radar import Radar
from trilink.sensors.spec import build_sensors
from trilink.threats.catalogue import get_missile
from trilink.threats.flight import Launch, Steering
from trilink.threats.loft import (
    LaunchGeometry,
    SolverError,
    shape_steering,
    solve_apogee_range,
    solve_range,
)
from trilink.threats.sites import get_site

_BUILTIN_PACKAGE = "trilink.scenario.builtin"
DEFAULT_SCENARIO = "hwasong18-2023-04-13"
"""The seed scenario, run by ``trilink run`` with no argument."""


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """A loaded scenario: the validated file plus where it came from."""

    spec: ScenarioFile
    source: str

    @property
    def name(self) -> str:
        return self.spec.scenario.name

    def sensors(self) -> tuple[Radar, ...]:
        """The scenario's radars (the whole catalogue when it lists none)."""
        if self.spec.sensors is None:
            return all_sensors()
        return build_sensors(self.spec.sensors, "sensors")


def builtin_names() -> list[str]:
    """Names of the built-in scenarios."""
    files = resources.files(_BUILTIN_PACKAGE).iterdir()
    return sorted(f.name.removesuffix(".toml") for f in files if f.name.endswith(".toml"))


def get_scenario(name_or_path: str | Path | None = None) -> Scenario:
    """A built-in scenario by name, or a scenario file by path (default: the seed)."""
    key = DEFAULT_SCENARIO if name_or_path is None else str(name_or_path)
    if key in builtin_names():
        text = resources.files(_BUILTIN_PACKAGE).joinpath(f"{key}.toml").read_bytes()
        return Scenario(spec=parse_scenario(text, f"built-in:{key}"), source=f"built-in:{key}")
    p = Path(key)
    if p.suffix != ".toml" and not p.exists():
        raise ScenarioError(
            key, "(scenario)", f"not a built-in scenario ({', '.join(builtin_names())}) nor a file"
        )
    return Scenario(spec=load_scenario(p), source=str(p))


def threat_geometry(t: ThreatSpec) -> LaunchGeometry:
    """Missile, site and azimuth of a threat (steering not yet chosen)."""
    missile = get_missile(t.missile)
    if t.site is not None:
        site = get_site(t.site)
        lat, lon, alt = site.lat_rad, site.lon_rad, site.alt_m
    else:
        assert t.lat_deg is not None and t.lon_deg is not None
        lat, lon, alt = math.radians(t.lat_deg), math.radians(t.lon_deg), t.alt_m
    return LaunchGeometry(
        missile=missile,
        lat_rad=lat,
        lon_rad=lon,
        alt_m=alt,
        azimuth_rad=math.radians(t.azimuth_deg),
        t_launch_s=t.launch_time_s,
    )


def threat_steering(t: ThreatSpec, geo: LaunchGeometry) -> tuple[Steering, float | None]:
    """The steering (and RV mass, None for nominal) a threat asks for: explicit, solved
    from apogee/range, or a named shape."""
    if t.steering is not None:
        s = t.steering
        steering = Steering(
            pitch_first_rad=math.radians(s.pitch_first_deg),
            pitch_upper_rad=None if s.pitch_upper_deg is None else math.radians(s.pitch_upper_deg),
            yaw_start_s=s.yaw_start_s,
            yaw_end_s=s.yaw_end_s,
            yaw_delta_rad=math.radians(s.yaw_delta_deg),
            burn_fraction_last=s.burn_fraction_last,
        )
        return steering, t.rv_mass_kg
    if t.apogee_km is not None and t.range_km is not None:
        sol = solve_apogee_range(geo, t.apogee_km * 1e3, t.range_km * 1e3)
        return sol.steering, sol.rv_mass_kg
    if t.range_km is not None:
        return solve_range(geo, t.range_km * 1e3, t.trajectory or "minimum-energy"), t.rv_mass_kg
    assert t.trajectory is not None
    return shape_steering(geo, t.trajectory), t.rv_mass_kg


def scenario_launches(scenario: Scenario) -> list[Launch]:
    """One :class:`Launch` per threat, with its steering solved where needed.

    A threat whose requested trajectory is beyond its missile raises
    :class:`ScenarioError` naming the threat.
    """
    out = []
    for i, t in enumerate(scenario.spec.threats):
        geo = threat_geometry(t)
        try:
            steering, rv_mass_kg = threat_steering(t, geo)
        except SolverError as exc:
            raise ScenarioError(scenario.source, f"threats[{i}]", str(exc)) from None
        out.append(
            geo.launch(
                steering,
                rv_mass_kg=rv_mass_kg,
                threat_id=t.id,
                n_debris=t.debris,
                debris_dv_sigma_mps=t.debris_dv_sigma_mps,
            )
        )
    return out
