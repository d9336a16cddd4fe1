"""Campaign spec files: the TOML schema, strict decoding, and the draw sampler.

A campaign spec says how to sample launches and how to measure them::

    [campaign]
    name = "seedlike"
    seed = 20230413                 # with the run index, fixes every draw
    epoch_utc = 2023-04-12T22:22:00Z
    window_s = 300.0                # tracked after the draw's first launch
    chunk_runs = 10                 # runs flown as one batch (fixed: results depend on it)
    debris = 0                      # fragments per launch at RV separation
    report_every_s = 1.0            # national tracks output and hub fusion cadence
    configurations = ["jp", "kr", "us", "linked", "direct"]
    impact_times_s = [120.0, 180.0, 240.0, 300.0]   # after launch
    sensors = ["fps5-sado", ...]    # optional; absent: the whole sensor catalogue
    warning = ["jp", "linked"]      # optional: configurations that also run the alerts

    [metrics]                       # parameters of the metrics (stated in every report)
    ospa_c_m = 10000.0
    ospa_p = 2.0
    gospa_alpha = 2.0
    gate_m = 10000.0                # track-to-truth gate (SIAP, timeliness, errors)
    eval_step_s = 5.0               # epochs of the OSPA / GOSPA / SIAP series

    [sampling]
    sites = ["samsok", "sunan"]     # trilink.threats.sites keys, drawn uniformly
    azimuth_deg = [60.0, 100.0]     # uniform
    launch_time_s = [0.0, 60.0]     # first launch, uniform
    salvo = [1, 3]                  # launches per draw, uniform integer (inclusive)
    salvo_spacing_s = [5.0, 60.0]   # between launches of a salvo, uniform
    salvo_same_site = true
    steering_site = "samsok"        # reference geometry of the steering library
    steering_azimuth_deg = 80.0
    [sampling.missiles]             # catalogue key = weight
    "hwasong-18" = 3.0
    [sampling.trajectories]         # shape = weight
    lofted = 0.7
    minimum-energy = 0.3

    [steering]                      # the steering library: "missile/shape" = pitch
    "hwasong-18/lofted" = { pitch_first_deg = 81.2 }
    "hwasong-18/depressed" = { infeasible = "why" }

    [[outages]]                     # a radar off (seconds after the first launch)
    sensor = "fps5-sado"
    start_s = 0.0
    end_s = 600.0

    [[link_cuts]]                   # a nation's link down (seconds after the first launch)
    nation = "KR"
    start_s = 100.0
    end_s = 160.0

**Steering library.** A trajectory *shape* (:class:`trilink.threats.TrajectoryShape`)
is solved once per missile at the reference geometry (``steering_site``,
``steering_azimuth_deg``) with :func:`trilink.threats.shape_steering`, and that pitch
programme is flown from every sampled site and azimuth: the shape is the same, the
range differs by the Earth's rotation under other azimuths (a few per cent). Solving
costs 2-40 s per combination (tens of candidate flights), far more than a run, so it
is done once per campaign (missing entries are solved before the first run) and
written into ``DIR/spec.toml``; the built-in spec ships with its library solved.
Combinations out of the missile's reach are marked ``infeasible`` and never drawn.

**Draws.** Run ``i`` draws from ``numpy.random.SeedSequence(seed, spawn_key=(i, k))``:
stream k = 0 samples the launches, 1 feeds the radars, 2 the space IR; the debris of a
chunk of runs (flown as one batch) comes from ``spawn_key=(2**32 + chunk,)``. A draw
depends only on (spec, i).

Every error is one line naming the file, the field and the problem
(:class:`CampaignSpecError`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import numpy as np
from msgspec import Meta

from trilink.sensors.catalogue import sensor_keys
from trilink.threats.catalogue import MISSILES
from trilink.threats.sites import SITES

__all__ = [
    "CONFIGURATIONS",
    "DEFAULT_SPEC",
    "CampaignSpec",
    "CampaignSpecError",
    "Draw",
    "LaunchDraw",
    "SteeringEntry",
    "builtin_spec_names",
    "draw_run",
    "get_spec",
    "load_spec",
    "parse_spec",
    "spec_to_toml",
]

CONFIGURATIONS = ("jp", "kr", "us", "linked", "direct")
"""The configurations a campaign compares (see :mod:`trilink.evaluation.configurations`)."""
SHAPES = ("minimum-energy", "lofted", "depressed")
NATIONS = ("JP", "KR", "US")
DEFAULT_SPEC = "seedlike"
_BUILTIN_PACKAGE = "trilink.evaluation"
_BUILTIN_DIR = "specs"

PosFloat = Annotated[float, Meta(gt=0.0)]
NonNeg = Annotated[float, Meta(ge=0.0)]


class CampaignSpecError(ValueError):
    """A campaign spec is invalid. ``str(err)`` is one line: ``source: field: problem``."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        super().__init__(f"{source}: {field}: {problem}")


class CampaignHeader(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=80)]
    seed: Annotated[int, Meta(ge=0, le=2**63 - 1)]
    epoch_utc: dt.datetime = dt.datetime(2023, 4, 12, 22, 22, tzinfo=dt.UTC)
    description: str = ""
    window_s: Annotated[float, Meta(gt=0.0, le=86_400.0)] = 300.0
    chunk_runs: Annotated[int, Meta(ge=1, le=1_000)] = 10
    debris: Annotated[int, Meta(ge=0, le=1_000)] = 0
    report_every_s: Annotated[float, Meta(gt=0.0, le=60.0)] = 1.0
    """Cadence of the national tracks tables and of the hub's fusion, s (the system's: 1 s)."""
    configurations: list[Literal["jp", "kr", "us", "linked", "direct"]] = msgspec.field(
        default_factory=lambda: list(CONFIGURATIONS)
    )
    impact_times_s: list[PosFloat] = msgspec.field(
        default_factory=lambda: [120.0, 180.0, 240.0, 300.0]
    )
    sensors: list[str] | None = None
    warning: list[Literal["jp", "kr", "us", "linked", "direct"]] = msgspec.field(
        default_factory=list
    )
    """Configurations whose pictures also run the public-alert chain (issue 7: alert
    metrics per prefecture); each costs one warning run per draw (seconds of CPU)."""


class MetricsSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    ospa_c_m: PosFloat = 10_000.0
    ospa_p: Annotated[float, Meta(ge=1.0, le=10.0)] = 2.0
    gospa_alpha: Annotated[float, Meta(gt=0.0, le=2.0)] = 2.0
    gate_m: PosFloat = 10_000.0
    eval_step_s: Annotated[float, Meta(gt=0.0, le=600.0)] = 5.0


Range = Annotated[list[float], Meta(min_length=2, max_length=2)]
IntRange = Annotated[list[Annotated[int, Meta(ge=1, le=20)]], Meta(min_length=2, max_length=2)]


class SamplingSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    sites: Annotated[list[str], Meta(min_length=1)]
    missiles: Annotated[dict[str, NonNeg], Meta(min_length=1)]
    trajectories: Annotated[dict[str, NonNeg], Meta(min_length=1)]
    azimuth_deg: Range = msgspec.field(default_factory=lambda: [60.0, 100.0])
    launch_time_s: Range = msgspec.field(default_factory=lambda: [0.0, 60.0])
    salvo: IntRange = msgspec.field(default_factory=lambda: [1, 1])
    salvo_spacing_s: Range = msgspec.field(default_factory=lambda: [5.0, 60.0])
    salvo_same_site: bool = True
    steering_site: str | None = None
    """Reference site of the steering library (default: the first of ``sites``)."""
    steering_azimuth_deg: float | None = None
    """Reference azimuth (default: the middle of ``azimuth_deg``)."""


class SteeringEntry(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """One entry of the steering library: a pitch programme, or why there is none."""

    pitch_first_deg: Annotated[float, Meta(gt=0.0, le=90.0)] | None = None
    pitch_upper_deg: Annotated[float, Meta(gt=-90.0, le=90.0)] | None = None
    burn_fraction_last: Annotated[float, Meta(gt=0.0, le=1.0)] = 1.0
    infeasible: str | None = None


class Window(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    start_s: Annotated[float, Meta(ge=-86_400.0, le=86_400.0)]
    end_s: Annotated[float, Meta(ge=-86_400.0, le=86_400.0)]


class OutageSpec(Window, forbid_unknown_fields=True, frozen=True, kw_only=True):
    sensor: str


class LinkCutSpec(Window, forbid_unknown_fields=True, frozen=True, kw_only=True):
    nation: Literal["JP", "KR", "US"]


class CampaignSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A whole campaign spec file (module docstring)."""

    campaign: CampaignHeader
    sampling: SamplingSpec
    metrics: MetricsSpec = MetricsSpec()
    steering: dict[str, SteeringEntry] = {}
    outages: list[OutageSpec] = []
    link_cuts: list[LinkCutSpec] = []

    @property
    def reference_site(self) -> str:
        return (self.sampling.steering_site or self.sampling.sites[0]).lower()

    @property
    def reference_azimuth_deg(self) -> float:
        a = self.sampling.steering_azimuth_deg
        return 0.5 * sum(self.sampling.azimuth_deg) if a is None else a

    def combos(self) -> list[str]:
        """The "missile/shape" keys the sampler may draw (weights > 0)."""
        ms = [m.lower() for m, w in self.sampling.missiles.items() if w > 0]
        ss = [s for s, w in self.sampling.trajectories.items() if w > 0]
        return [f"{m}/{s}" for m in ms for s in ss]

    def missing_steering(self) -> list[str]:
        return [k for k in self.combos() if k not in self.steering]

    def with_steering(self, entries: dict[str, SteeringEntry]) -> CampaignSpec:
        merged = dict(self.steering) | entries
        return msgspec.structs.replace(self, steering=dict(sorted(merged.items())))


# ------------------------------------------------------------------------- decoding

_PATH_RE = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$")


def _field_from_msgspec(msg: str) -> tuple[str, str]:
    m = _PATH_RE.match(msg)
    assert m is not None
    path = (m.group("path") or "").lstrip(".") or "(file)"
    problem = m.group("msg")
    unknown = re.search(r"unknown field `([^`]*)`", problem)
    if unknown:
        path = unknown.group(1) if path == "(file)" else f"{path}.{unknown.group(1)}"
        problem = "unknown field"
    missing = re.search(r"missing required field `([^`]*)`", problem)
    if missing:
        path = missing.group(1) if path == "(file)" else f"{path}.{missing.group(1)}"
        problem = "missing required field"
    return path, problem


def _name_dict_key(text: str | bytes, path: str) -> str:
    """msgspec writes a bad mapping entry as ``table[...]``: find which key it is."""
    prefix, _, rest = path.partition("[...]")
    value_type = _DICT_VALUES.get(prefix)
    try:
        raw = msgspec.toml.decode(text)
        for part in prefix.split("."):
            raw = raw[part]
    except (msgspec.DecodeError, KeyError, TypeError):
        return path
    if value_type is None or not isinstance(raw, dict):
        return path
    for key, value in raw.items():
        try:
            msgspec.convert(value, value_type)
        except msgspec.ValidationError:
            return f"{prefix}.{key}{rest}"
    return path


def parse_spec(text: str | bytes, source: str = "<spec>") -> CampaignSpec:
    """Decode and validate a campaign spec from TOML text; raise :class:`CampaignSpecError`."""
    try:
        spec = msgspec.toml.decode(text, type=CampaignSpec)
    except msgspec.ValidationError as exc:
        path, problem = _field_from_msgspec(str(exc))
        if "[...]" in path:
            path = _name_dict_key(text, path)
        raise CampaignSpecError(source, path, problem) from None
    except msgspec.DecodeError as exc:
        raise CampaignSpecError(source, "(file)", f"not valid TOML: {exc}") from None
    _check(spec, source)
    return spec


def load_spec(path: str | Path) -> CampaignSpec:
    """Read and validate a spec file; raise :class:`CampaignSpecError`."""
    p = Path(path)
    try:
        text = p.read_bytes()
    except OSError as exc:
        raise CampaignSpecError(str(p), "(file)", f"cannot read: {exc.strerror}") from None
    return parse_spec(text, str(p))


def builtin_spec_names() -> list[str]:
    files = resources.files(_BUILTIN_PACKAGE).joinpath(_BUILTIN_DIR).iterdir()
    return sorted(f.name.removesuffix(".toml") for f in files if f.name.endswith(".toml"))


def get_spec(name_or_path: str | Path | CampaignSpec | None = None) -> CampaignSpec:
    """A built-in spec by name, a spec file by path, or the spec itself (default: seedlike)."""
    if isinstance(name_or_path, CampaignSpec):
        return name_or_path
    key = DEFAULT_SPEC if name_or_path is None else str(name_or_path)
    if key in builtin_spec_names():
        text = resources.files(_BUILTIN_PACKAGE).joinpath(_BUILTIN_DIR, f"{key}.toml").read_bytes()
        return parse_spec(text, f"built-in:{key}")
    p = Path(key)
    if p.suffix != ".toml" and not p.exists():
        raise CampaignSpecError(
            key, "(spec)", f"not a built-in spec ({', '.join(builtin_spec_names())}) nor a file"
        )
    return load_spec(p)


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"spec_to_toml: non-finite number {v!r}")
        return repr(v)
    if isinstance(v, str):
        return msgspec.json.encode(v).decode()  # a JSON string is a TOML basic string
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        items = [f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items() if x is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise TypeError(f"spec_to_toml: cannot encode {type(v).__name__}")


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _toml_value(k)


def spec_to_toml(spec: CampaignSpec) -> str:
    """The spec as TOML text (decodes back to an equal spec)."""
    data = msgspec.to_builtins(spec, builtin_types=(dt.datetime,))
    lines: list[str] = []
    for name, table in data.items():
        if isinstance(table, list):  # arrays of tables
            for item in table:
                lines.append(f"[[{name}]]")
                lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in item.items()]
                lines.append("")
            continue
        lines.append(f"[{name}]")
        sub = {k: v for k, v in table.items() if isinstance(v, dict) and name != "steering"}
        for k, v in table.items():
            if v is not None and k not in sub:
                lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
        lines.append("")
        for k, v in sub.items():
            lines.append(f"[{name}.{_toml_key(k)}]")
            lines += [f"{_toml_key(kk)} = {_toml_value(vv)}" for kk, vv in v.items()]
            lines.append("")
    return "\n".join(lines)


def _check_range(source: str, field: str, r: list[float], lo: float, hi: float) -> None:
    if not (all(math.isfinite(x) for x in r) and lo <= r[0] <= r[1] <= hi):
        raise CampaignSpecError(
            source, field, f"must be [low, high] with {lo:g} <= low <= high <= {hi:g}, got {r}"
        )


def _check(spec: CampaignSpec, source: str) -> None:
    """Cross-field checks msgspec cannot express."""
    c, s = spec.campaign, spec.sampling
    if c.epoch_utc.tzinfo is None:
        raise CampaignSpecError(source, "campaign.epoch_utc", "needs a UTC offset (e.g. ...Z)")
    if not c.configurations:
        raise CampaignSpecError(source, "campaign.configurations", "must not be empty")
    if len(set(c.configurations)) != len(c.configurations):
        raise CampaignSpecError(source, "campaign.configurations", "has duplicates")
    for i, name in enumerate(c.warning):
        if name not in c.configurations:
            raise CampaignSpecError(
                source, f"campaign.warning[{i}]", f"{name!r} is not in campaign.configurations"
            )
    known_sensors = set(sensor_keys())
    for i, name in enumerate(c.sensors or []):
        if name not in known_sensors:
            raise CampaignSpecError(
                source, f"campaign.sensors[{i}]", f"unknown catalogue sensor {name!r}"
            )
    for i, site in enumerate(s.sites):
        if site.lower() not in SITES:
            raise CampaignSpecError(
                source,
                f"sampling.sites[{i}]",
                f"unknown launch site {site!r} (known: {', '.join(sorted(SITES))})",
            )
    if s.steering_site is not None and s.steering_site.lower() not in SITES:
        raise CampaignSpecError(
            source, "sampling.steering_site", f"unknown launch site {s.steering_site!r}"
        )
    for m in s.missiles:
        if m.lower() not in MISSILES:
            raise CampaignSpecError(
                source,
                f"sampling.missiles.{m}",
                f"unknown missile (known: {', '.join(sorted(MISSILES))})",
            )
    for t in s.trajectories:
        if t not in SHAPES:
            raise CampaignSpecError(
                source, f"sampling.trajectories.{t}", f"unknown shape (known: {', '.join(SHAPES)})"
            )
    if sum(s.missiles.values()) <= 0:
        raise CampaignSpecError(source, "sampling.missiles", "weights must not all be 0")
    if sum(s.trajectories.values()) <= 0:
        raise CampaignSpecError(source, "sampling.trajectories", "weights must not all be 0")
    _check_range(source, "sampling.azimuth_deg", s.azimuth_deg, -360.0, 360.0)
    _check_range(source, "sampling.launch_time_s", s.launch_time_s, 0.0, 86_400.0)
    _check_range(source, "sampling.salvo_spacing_s", s.salvo_spacing_s, 0.0, 86_400.0)
    if s.salvo[0] > s.salvo[1]:
        raise CampaignSpecError(source, "sampling.salvo", f"must be [low, high], got {s.salvo}")
    for key, e in spec.steering.items():
        m, _, shape = key.partition("/")
        if m not in MISSILES or shape not in SHAPES:
            raise CampaignSpecError(
                source, f"steering.{key}", "keys are 'missile/shape' (catalogue key, shape)"
            )
        if (e.pitch_first_deg is None) == (e.infeasible is None):
            raise CampaignSpecError(
                source, f"steering.{key}", "give either pitch_first_deg or infeasible"
            )
    for i, o in enumerate(spec.outages):
        if o.sensor not in known_sensors:
            raise CampaignSpecError(
                source, f"outages[{i}].sensor", f"unknown catalogue sensor {o.sensor!r}"
            )
        if c.sensors is not None and o.sensor not in c.sensors:
            raise CampaignSpecError(
                source, f"outages[{i}].sensor", f"{o.sensor!r} is not in campaign.sensors"
            )
    for name, ws in (("outages", spec.outages), ("link_cuts", spec.link_cuts)):
        for i, w in enumerate(ws):
            if w.end_s <= w.start_s:
                raise CampaignSpecError(source, f"{name}[{i}].end_s", "must be after start_s")
    if not spec.combos():
        raise CampaignSpecError(source, "sampling", "no missile/shape with a positive weight")


_DICT_VALUES: dict[str, object] = {
    "steering": SteeringEntry,
    "sampling.missiles": NonNeg,
    "sampling.trajectories": NonNeg,
}


# ------------------------------------------------------------------------- draws


@dataclass(frozen=True, kw_only=True)
class LaunchDraw:
    """One sampled launch (degrees and km at this edge, like a scenario file)."""

    threat_id: str
    missile: str
    shape: str
    site: str
    azimuth_deg: float
    launch_time_s: float


@dataclass(frozen=True, kw_only=True)
class Draw:
    """One run's draw: its launches and the seed sequence of its random streams."""

    run: int
    launches: tuple[LaunchDraw, ...]
    seed: int

    def rng(self, stream: int) -> np.random.Generator:
        """Random stream ``stream`` of this run (0: the sampler, 1: radars, 2: space IR)."""
        return np.random.default_rng(
            np.random.SeedSequence(self.seed, spawn_key=(self.run, stream))
        )

    @property
    def t0_s(self) -> float:
        """The first launch, s after the epoch."""
        return min(la.launch_time_s for la in self.launches)

    def parameters(self) -> dict[str, object]:
        """The draw-parameter columns of the results table (first launch's, plus lists)."""
        first = min(self.launches, key=lambda la: la.launch_time_s)
        return {
            "salvo": len(self.launches),
            "missile": first.missile,
            "shape": first.shape,
            "site": first.site,
            "azimuth_deg": first.azimuth_deg,
            "launch_time_s": first.launch_time_s,
            "missiles": ";".join(la.missile for la in self.launches),
            "shapes": ";".join(la.shape for la in self.launches),
        }


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    w = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=w / w.sum()))]


def draw_run(spec: CampaignSpec, run: int) -> Draw:
    """The draw of run ``run`` (module docstring). Needs the steering library complete
    for the spec's combinations (infeasible ones are never drawn)."""
    s = spec.sampling
    rng = Draw(run=int(run), launches=(), seed=spec.campaign.seed).rng(0)
    n = int(rng.integers(s.salvo[0], s.salvo[1] + 1))
    sites = [x.lower() for x in s.sites]
    site0 = sites[int(rng.integers(len(sites)))]
    t = float(rng.uniform(*s.launch_time_s))
    out = []
    for k in range(n):
        missiles = {m.lower(): w for m, w in s.missiles.items() if w > 0}
        missile = _pick(rng, missiles)
        shapes = {
            sh: w
            for sh, w in s.trajectories.items()
            if w > 0 and spec.steering.get(f"{missile}/{sh}", SteeringEntry()).infeasible is None
        }
        if not shapes:
            raise CampaignSpecError(
                "spec", f"sampling.missiles.{missile}", "no feasible trajectory shape"
            )
        shape = _pick(rng, shapes)
        site = site0 if (s.salvo_same_site or k == 0) else sites[int(rng.integers(len(sites)))]
        az = float(rng.uniform(*s.azimuth_deg))
        if k:
            t += float(rng.uniform(*s.salvo_spacing_s))
        out.append(
            LaunchDraw(
                threat_id=f"T{k + 1}",
                missile=missile,
                shape=shape,
                site=site,
                azimuth_deg=round(az, 6),
                launch_time_s=round(t, 6),
            )
        )
    return Draw(run=int(run), launches=tuple(out), seed=spec.campaign.seed)
