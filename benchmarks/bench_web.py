"""The live picture at ×10: does the page keep up with the simulation?

Starts ``trilink serve <seed> --speed 10`` (the seed scenario flies one Hwasong-18
past the whole 16-radar sensor catalogue; its run comes from the serve cache, or is
computed once: ~45-80 s), opens the page in headless Debian chromium (WebGL on
SwiftShader, no network beyond 127.0.0.1; ``tests/cdp.py``) at 1280 x 800, turns every
layer on (fused, national JP/KR/US, truth, impact ellipses, sensors, fans) and
records for ``--seconds`` of wall time (default 40 s, i.e. 400 s of scenario from
launch: boost, staging, the busiest part of the picture):

* frame time: requestAnimationFrame intervals (the browser's frame cadence) and the
  time of each Cesium render (``scene.preRender`` -> ``postRender``); the page renders
  on demand (``requestRenderMode``): once per WebSocket frame and on camera moves;
* WebSocket messages/s and kB/s received by the page;
* keeping up: the page's scenario clock rate (Δt_scenario / Δt_wall, want 10), the
  display lag (server send -> the render that shows it, ms), and the clock lag at
  the end (what the server's clock says minus what the page shows, scenario s).

Options: ``--seconds=S`` (40), ``--speed=N`` (10), ``--cache=DIR`` (a run folder of
the seed to reuse), ``--default-layers`` (the page as it opens: fused tracks, impact
ellipses, sensors, fans; national tracks and truth off). Results: ``benchmarks/results/web.json``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
SEED = "hwasong18-2023-04-13"


def _option(argv: list[str], name: str, default: str | None) -> str | None:
    for arg in argv:
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return default


def _pct(x: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(x, dtype=float), q)) if x else float("nan")


def main(argv: list[str]) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from cdp import WEBGL_FLAGS, Chromium, summarize

    seconds = float(_option(argv, "seconds", "40") or 40)
    speed = float(_option(argv, "speed", "10") or 10)
    cache = _option(argv, "cache", None)
    args = [sys.executable, "-m", "trilink.cli.main", "serve", SEED, "--speed", f"{speed:g}"]
    args += ["--port", "0"] + (["--cache", cache] if cache else [])
    print(f"starting trilink serve {SEED} at ×{speed:g} (computes the run once if not cached)")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        m = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if m is None:
            raise SystemExit(f"trilink serve did not start: {line!r}")
        url = m.group(0)
        with Chromium(
            ROOT / "benchmarks" / "results" / "chromium-profile",
            WEBGL_FLAGS,
            width=1280,
            height=800,
        ) as dt:
            dt.call("Page.navigate", url=url)
            if not dt.wait_for("window.trilink && trilink.state.hello", 60.0):
                raise SystemExit("the page never said hello: " + repr(summarize(dt.events)))
            if "--default-layers" not in argv:
                dt.evaluate(
                    "document.querySelectorAll('input[data-layer]').forEach(b => {"
                    " if (!b.checked) b.click(); })"
                )
            dt.evaluate("trilink.send('seek', 0)")
            dt.pump(2.0)
            dt.evaluate(
                "(() => { const s = trilink.stats; for (const k of ['rafMs','renderMs',"
                "'applyMs','transportMs','displayLagMs','frameLog']) s[k].length = 0;"
                " s.messages0 = s.messages; s.bytes0 = s.bytes; s.renders0 = s.renders; })()"
            )
            t0 = dt.evaluate("trilink.state.t")
            w0 = time.monotonic()
            dt.pump(seconds)
            s = dt.evaluate(
                "(() => { const s = trilink.stats; return {raf: s.rafMs, render: s.renderMs,"
                " apply: s.applyMs, transport: s.transportMs, lag: s.displayLagMs,"
                " frames: s.frameLog, messages: s.messages - s.messages0,"
                " bytes: s.bytes - s.bytes0, renders: s.renders - s.renders0,"
                " t: trilink.state.t,"
                " objects: trilink.viewer.scene.primitives.length}; })()"
            )
            w1 = time.monotonic()
            problems = summarize(dt.events)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    wall = w1 - w0
    frames = s["frames"]
    recv = [f[0] for f in frames]
    rate = (s["t"] - t0) / wall
    expected_t = t0 + speed * wall
    out = {
        "layers": "default" if "--default-layers" in argv else "all",
        "speed": speed,
        "wall_s": round(wall, 2),
        "scenario_s": [round(t0, 1), round(s["t"], 1)],
        "raf_interval_ms_p50": _pct(s["raf"], 50),
        "raf_interval_ms_p95": _pct(s["raf"], 95),
        "render_ms_p50": _pct(s["render"], 50),
        "render_ms_p95": _pct(s["render"], 95),
        "renders_per_s": s["renders"] / wall,
        "frame_apply_ms_p50": _pct(s["apply"], 50),
        "frame_apply_ms_p95": _pct(s["apply"], 95),
        "ws_messages_per_s": s["messages"] / wall,
        "ws_kB_per_s": s["bytes"] / wall / 1e3,
        "ws_frame_interval_ms_p95": _pct(list(np.diff(recv)), 95) if len(recv) > 1 else None,
        "transport_ms_p50": _pct(s["transport"], 50),
        "display_lag_ms_p50": _pct(s["lag"], 50),
        "display_lag_ms_p95": _pct(s["lag"], 95),
        "page_clock_rate": rate,
        "clock_lag_at_end_s": expected_t - s["t"],
        "console_errors": problems["errors"],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "web.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"{wall:.0f} s wall at ×{speed:g}: scenario {t0:.0f} -> {s['t']:.0f} s")
    print(
        f"frame time: rAF interval p50 {out['raf_interval_ms_p50']:.0f} ms, p95 "
        f"{out['raf_interval_ms_p95']:.0f} ms; Cesium render p50 {out['render_ms_p50']:.0f} ms,"
        f" p95 {out['render_ms_p95']:.0f} ms ({out['renders_per_s']:.1f} renders/s)"
    )
    print(
        f"WebSocket: {out['ws_messages_per_s']:.1f} messages/s, {out['ws_kB_per_s']:.0f} kB/s; "
        f"applying a frame p50 {out['frame_apply_ms_p50']:.1f} ms, p95 "
        f"{out['frame_apply_ms_p95']:.1f} ms"
    )
    print(
        f"keeping up: page clock ×{rate:.2f} (want ×{speed:g}); display lag p50 "
        f"{out['display_lag_ms_p50']:.0f} ms, p95 {out['display_lag_ms_p95']:.0f} ms; "
        f"clock lag at the end {out['clock_lag_at_end_s']:.1f} scenario s"
    )
    if problems["errors"]:
        print("console errors:", *problems["errors"], sep="\n  ")
