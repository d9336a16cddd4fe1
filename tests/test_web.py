"""trilink.web and ``trilink serve``: the live operator picture.

Real parts only: the real ``trilink serve`` process (uvicorn on 127.0.0.1), a real
WebSocket client (``websockets``), and Debian ``chromium`` headless with WebGL on
SwiftShader and no network beyond 127.0.0.1 (``tests/cdp.py``). The seed's run folder
comes from the session fixture ``seed_run_dir`` (computed once per session).

- geometry of what the page draws (impact ellipses, coverage fans) against pyproj;
- the picture's time index (hold and expiry of tracks);
- the partner view: built from the release stream (the same (time, track) pairs the
  relay log released; the independent ``trilink.export.partner`` agrees), and the
  ``--as JP`` WebSocket stream, read whole, never carries a Korean national track or
  sensor site, while ``--as KR`` does (control);
- bad CLI input is one line naming the field, exit 2; malformed WebSocket messages
  get an error reply and never end the server;
- the page (slow): ``trilink serve`` on the seed scenario in headless Chromium shows
  the globe, the first fused track and the alert panel, keeps up at x10, logs no
  console error, requests nothing outside 127.0.0.1; screenshot in
  ``tests/artifacts/web_seed.png``.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trilink.web.picture import Layer, coverage_fans, ellipse_outline
from trilink.web.server import ControlError, parse_control, parse_speed

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
TRILINK = [sys.executable, "-m", "trilink.cli.main"]
SEED = "hwasong18-2023-04-13"


# ----------------------------------------------------------------------------------
# geometry and the time index
# ----------------------------------------------------------------------------------
def test_impact_ellipse_outline_against_pyproj() -> None:
    """Point k of the ring lies at parametric angle θ_k = 2πk/24: geodesic distance
    sqrt((a cos θ)² + (b sin θ)²) at azimuth orientation + atan2(b sin θ, a cos θ)
    from the centre (pyproj's Karney geodesics, to < 15 m: the ring is rounded to
    1e-4 deg)."""
    from pyproj import Geod

    g = Geod(ellps="WGS84")
    lat, lon, a, b, ori = 41.3, 139.8, 48_000.0, 9_000.0, 35.0
    ring = np.asarray(ellipse_outline(lat, lon, a, b, ori)).reshape(-1, 2)
    assert ring.shape == (24, 2)
    theta = np.linspace(0.0, 2 * math.pi, 24, endpoint=False)
    az_fwd, _, dist = g.inv(np.full(24, lon), np.full(24, lat), ring[:, 0], ring[:, 1])
    want_d = np.hypot(a * np.cos(theta), b * np.sin(theta))
    want_az = (ori + np.degrees(np.arctan2(b * np.sin(theta), a * np.cos(theta)))) % 360.0
    assert np.max(np.abs(dist - want_d)) < 15.0, np.abs(dist - want_d).max()
    daz = (np.asarray(az_fwd) % 360.0 - want_az + 180.0) % 360.0 - 180.0
    assert np.max(np.abs(daz)) < 0.05, daz
    # the major axis points along the orientation (clockwise from north)
    assert abs(dist[0] - a) < 15 and abs(((az_fwd[0] - ori + 180) % 360) - 180) < 0.05


def test_coverage_fans_against_pyproj() -> None:
    """A fixed face's fan: the site, then the arc boresight ± half-width at the
    instrumented range; a rotating radar: a full circle."""
    from pyproj import Geod

    from trilink.sensors.catalogue import get_sensor

    g = Geod(ellps="WGS84")
    r = get_sensor("tpy2-shariki")
    lat, lon = math.degrees(r.lat_rad), math.degrees(r.lon_rad)
    fans = coverage_fans(lat, lon, r)
    assert len(fans) == len(r.faces)
    ring = np.asarray(fans[0]).reshape(-1, 2)
    assert tuple(ring[0]) == (round(lon, 4), round(lat, 4))
    az, _, d = g.inv(np.full(len(ring) - 1, lon), np.full(len(ring) - 1, lat), *ring[1:].T)
    assert np.allclose(d, r.instrumented_range_m, rtol=0, atol=200.0), d  # 1e-3 deg rounding
    face = r.faces[0]
    lo = math.degrees(face.boresight_az_rad - face.half_fov_az_rad)
    hi = math.degrees(face.boresight_az_rad + face.half_fov_az_rad)
    assert (
        abs((az[0] - lo + 180) % 360 - 180) < 0.05 and abs((az[-1] - hi + 180) % 360 - 180) < 0.05
    )

    from dataclasses import replace

    from trilink.sensors.radar import RotatingFace

    spin = replace(r, faces=RotatingFace(half_fov_el_rad=0.5))
    (circle,) = coverage_fans(lat, lon, spin)
    pts = np.asarray(circle).reshape(-1, 2)
    az, _, d = g.inv(np.full(len(pts), lon), np.full(len(pts), lat), *pts.T)
    assert np.allclose(d, r.instrumented_range_m, atol=200.0)
    assert np.ptp(np.unwrap(np.radians(az))) > math.radians(350.0)  # all the way round


def test_layer_holds_then_drops_tracks() -> None:
    layer = Layer(
        name="t",
        times_s=np.array([1.0, 2.0, 3.0, 10.0]),
        items=(
            ({"id": 1, "v": "a"},),
            ({"id": 1, "v": "b"}, {"id": 2, "v": "x"}),
            ({"id": 2, "v": "y"},),
            ({"id": 3, "v": "z"},),
        ),
        hold_s=3.0,
    )
    assert layer.state_at(0.5) == []
    assert layer.state_at(1.0) == [{"id": 1, "v": "a"}]
    assert sorted(d["v"] for d in layer.state_at(3.5)) == ["b", "y"]  # newest sample per id
    assert [d["v"] for d in layer.state_at(5.5)] == ["y"]  # id 1 last seen at 2 s: expired
    assert layer.state_at(9.9) == []
    assert layer.state_at(10.0) == [{"id": 3, "v": "z"}]
    assert len(layer) == 5 and layer.first_time_s == 1.0


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"type": "hello"}', "field 'type'"),
        ('{"type": "control", "action": "rewind"}', "field 'action'"),
        ('{"type": "control", "action": "speed", "value": -3}', "field 'value'"),
        ('{"type": "control", "action": "speed", "value": "fast"}', "field 'value'"),
        ('{"type": "control", "action": "seek", "value": "10"}', "field 'value'"),
        ('{"type": "control", "action": "seek", "value": NaN}', "field 'value'"),
        ('{"type": "control", "action": "seek", "value": true}', "field 'value'"),
        ("[" * 5000, "characters"),
    ],
)
def test_bad_control_messages_are_named(text: str, field: str) -> None:
    with pytest.raises(ControlError, match=re.escape(field)):
        parse_control(text)


def test_good_control_messages() -> None:
    assert parse_control('{"type": "control", "action": "pause"}') == ("pause", None)
    assert parse_control('{"type": "control", "action": "speed", "value": 10}') == ("speed", 10)
    assert parse_control('{"type":"control","action":"speed","value":"max"}')[1] == math.inf
    assert parse_control('{"type": "control", "action": "seek", "value": 120.5}') == (
        "seek",
        120.5,
    )
    assert parse_speed("10") == 10.0 and parse_speed("MAX") == math.inf
    for bad in ("0", "-1", "nan", "inf", "1e9", "x"):
        with pytest.raises(ValueError):
            parse_speed(bad)


# ----------------------------------------------------------------------------------
# the partner view, from the release stream
# ----------------------------------------------------------------------------------
def test_partner_picture_is_the_release_stream(seed_run_dir: Path) -> None:
    from trilink.export.runfolder import read_run
    from trilink.web.picture import build_picture

    run = read_run(seed_run_dir)
    jp = build_picture(run, "JP")
    assert {s["nation"] for s in jp.sensors} == {"JP"}
    assert set(jp.national) == {"JP"} and jp.truth is None
    withheld = {(w["type"], w["origin"]) for w in jp.withheld}
    assert {("SensorSite", "KR"), ("TrackReport", "KR"), ("SensorSite", "US")} <= withheld
    pairs = {
        (float(t), int(it["id"]))
        for t, its in zip(jp.system.times_s, jp.system.items, strict=True)
        for it in its
    }
    released = set()
    for e in run.events():
        if e["event"] == "relay" and e["type"] == "SystemTrack" and e["to"] == "JP":
            assert e["decision"] == "released"  # the default policy releases them all
            released.add((e["t_s"], e["global_track_number"]))
    assert len(pairs) == len(released) > 1000
    try:  # an independent reading of the same relay log (another engineer's module)
        from trilink.export.partner import released_system_rows
    except ImportError:
        pass
    else:
        rows = released_system_rows(run, "JP")
        theirs = set(
            zip(rows["time_s"].astype(float), rows["global_track_number"].astype(int), strict=True)
        )
        assert pairs == theirs
    hub = build_picture(run, "HUB")
    assert set(hub.national) == {"JP", "KR", "US"} and hub.truth is not None
    assert len(hub.sensors) == len(run.sensors) and hub.withheld == ()


# ----------------------------------------------------------------------------------
# the server process
# ----------------------------------------------------------------------------------
@contextmanager
def serve(*args: str, timeout_s: float = 120.0) -> Iterator[str]:
    """``trilink serve ARGS --port 0``; yields its URL; after: the server is still up and
    logged no exception; stops it (SIGTERM)."""
    err = tempfile.TemporaryFile(mode="w+")  # never a full pipe that blocks the server
    proc = subprocess.Popen(
        [*TRILINK, "serve", *args, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=err,
        text=True,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + timeout_s
        line = ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if line or proc.poll() is not None:
                break
        m = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if m is None:
            proc.kill()
            err.seek(0)
            raise AssertionError(f"no URL from trilink serve: {line!r} {err.read()!r}")
        yield m.group(0)
        assert proc.poll() is None, "the server died"
        err.seek(0)
        log = err.read()
        assert "Traceback" not in log and "Exception" not in log, log[-3000:]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        err.close()


async def _read_stream(url: str, first: list[str] | None = None) -> list[str]:
    """Every text message of one session until ``end``."""
    import websockets

    out: list[str] = []
    async with websockets.connect(url.replace("http", "ws") + "ws", max_size=None) as ws:
        for text in first or []:
            await ws.send(text)
        while True:
            m = await asyncio.wait_for(ws.recv(), 60.0)
            assert isinstance(m, str)
            out.append(m)
            if json.loads(m)["type"] == "end":
                return out


def _kr_sites(run_dir: Path) -> list[dict[str, Any]]:
    import pandas as pd

    s = pd.read_csv(run_dir / "sensors.csv")
    return s[s.nation == "KR"].to_dict("records")


@pytest.mark.slow
def test_partner_stream_as_jp_never_carries_korean_tracks_or_sites(seed_run_dir: Path) -> None:
    """The whole ``--as JP`` stream (every sample time, speed max): no KR national
    track, no KR sensor id or site position anywhere in the text; the fused tracks
    are there. ``--as KR`` (control) carries both."""
    kr_sites = _kr_sites(seed_run_dir)
    assert kr_sites

    czml: dict[str, list[dict]] = {}

    def read(view: str) -> list[str]:
        with serve("--replay", str(seed_run_dir), "--as", view, "--speed", "max") as url:
            stream = asyncio.run(_read_stream(url))
            # the page's CZML layer: the export of the same view
            with urllib.request.urlopen(url + "picture.czml", timeout=120) as r:
                czml[view] = json.loads(r.read())
            return stream

    def kr_hits(texts: list[str]) -> dict[str, int]:
        hits = {"sensor_id": 0, "site_latlon": 0, "national_KR": 0, "sensor_nation_KR": 0}
        for text in texts:
            for s in kr_sites:
                hits["sensor_id"] += s["sensor_id"] in text
                hits["site_latlon"] += (
                    f'"lat":{round(s["lat_deg"], 4)},"lon":{round(s["lon_deg"], 4)}' in text
                )
            msg = json.loads(text)
            if msg["type"] == "frame":
                hits["national_KR"] += len(msg["national"].get("KR", []))
            if msg["type"] == "sensors":
                hits["sensor_nation_KR"] += sum(x["nation"] == "KR" for x in msg["sites"])
        return hits

    jp = read("JP")
    frames = [json.loads(t) for t in jp if t.startswith('{"type":"frame"')]
    hello = json.loads(jp[0])
    assert hello["type"] == "hello" and hello["view"] == "JP" and hello["truth"] is False
    assert hello["nations"] == ["JP"]
    assert len(frames) > 2000, len(frames)  # one per sample time of the 2,700 s run
    assert sum(len(f["system"]) for f in frames) > 10_000  # the released fused tracks
    assert sum(len(f["national"].get("JP", [])) for f in frames) > 10_000
    assert all(not f["truth"] for f in frames)
    assert kr_hits(jp) == {
        "sensor_id": 0,
        "site_latlon": 0,
        "national_KR": 0,
        "sensor_nation_KR": 0,
    }

    kr = kr_hits(read("KR"))
    assert all(v > 0 for v in kr.values()), kr  # the control sees what JP must not

    def czml_kr(packets: list[dict]) -> list[str]:
        ids = {s["sensor_id"] for s in kr_sites}
        return [
            p["id"]
            for p in packets
            if p["id"].startswith("track/KR/") or p["id"].removeprefix("sensor/") in ids
        ]

    assert czml["JP"][0]["id"] == "document"
    assert any(p["id"].startswith("track/JP/") for p in czml["JP"])
    assert czml_kr(czml["JP"]) == []
    assert czml_kr(czml["KR"])  # the control


@pytest.mark.slow
def test_malformed_messages_never_end_the_server(seed_run_dir: Path) -> None:
    import websockets

    async def abuse(url: str) -> list[dict[str, Any]]:
        replies = []
        async with websockets.connect(url.replace("http", "ws") + "ws", max_size=None) as ws:
            for bad in (
                "not json",
                "[]",
                '{"type": "control", "action": "warp", "value": 1}',
                '{"type": "control", "action": "seek", "value": "soon"}',
                b"\x00\x01binary",
                "{" * 3000,
            ):
                await ws.send(bad)
            await ws.send(json.dumps({"type": "control", "action": "pause"}))
            deadline = time.monotonic() + 20
            while len(replies) < 6 and time.monotonic() < deadline:
                m = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if m["type"] == "error":
                    replies.append(m)
        # a message above the size limit: the server closes this connection only
        async with websockets.connect(url.replace("http", "ws") + "ws") as ws:
            await ws.send("x" * 200_000)
            with pytest.raises(websockets.ConnectionClosed):
                for _ in range(1000):
                    await asyncio.wait_for(ws.recv(), 20)
        return replies

    with serve("--replay", str(seed_run_dir), "--speed", "max") as url:
        errors = asyncio.run(abuse(url))
        assert len(errors) == 6, errors
        assert any("binary" in e["message"] for e in errors)
        assert any("field 'action'" in e["message"] for e in errors)
        # the server still serves a whole, ordered stream
        seek = json.dumps({"type": "control", "action": "seek", "value": 15})
        texts = asyncio.run(_read_stream(url, [seek]))
        msgs = [json.loads(t) for t in texts]
        kinds = [m["type"] for m in msgs]
        assert kinds[:2] == ["hello", "sensors"] and "reset" in kinds, kinds[:5]
        after = msgs[len(kinds) - kinds[::-1].index("reset") :]
        frames = [m for m in after if m["type"] == "frame"]
        ts = [f["t_s"] for f in frames]
        assert ts == sorted(ts) and ts[0] >= 15.0 and ts[-1] == 2700.0, (ts[:3], ts[-3:])
        first_fused = next(f for f in frames if f["system"])
        assert 15 < first_fused["t_s"] < 60 and first_fused["system"][0]["id"] >= 1


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["no-such-scenario"], "SCENARIO"),
        (["--replay", "/nonexistent/run"], "--replay"),
        (["--as", "CN"], "--as"),
        (["--speed", "-2"], "--speed"),
        (["--port", "70000"], "--port"),
        ([SEED, "--replay", "/tmp"], "SCENARIO"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], field: str, tmp_path: Path) -> None:
    env = os.environ | {"TRILINK_CACHE": str(tmp_path)}
    res = subprocess.run(
        [*TRILINK, "serve", *args], capture_output=True, text=True, timeout=120, env=env
    )
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    err = res.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert field in err, err


def test_replay_of_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text("{ not json")
    res = subprocess.run(
        [*TRILINK, "serve", "--replay", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 2 and "--replay" in res.stderr and "run.json" in res.stderr
    assert "Traceback" not in res.stderr


def test_missing_page_says_make_web(tmp_path: Path, seed_run_dir: Path) -> None:
    env = os.environ | {"TRILINK_WEB_DIST": str(tmp_path / "nowhere")}
    res = subprocess.run(
        [*TRILINK, "serve", "--replay", str(seed_run_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert res.returncode == 2 and "make web" in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


# ----------------------------------------------------------------------------------
# the page in headless Chromium
# ----------------------------------------------------------------------------------
def _non_background_fraction(png: Path) -> float:
    """Share of pixels that are not the black of space (max channel > 40)."""
    from PIL import Image

    a = np.asarray(Image.open(png).convert("RGB"), dtype=np.int16)
    return float((a.max(axis=2) > 40).mean())


@pytest.mark.slow
def test_page_shows_the_live_seed_in_headless_chromium(seed_run_dir: Path) -> None:
    """``trilink serve SEED`` (its run from the session's cache folder) at x10 in
    Chromium: the first fused track arrives, the globe renders (most pixels not
    black), the alert panel lists the launch notice, the page's clock keeps up with
    x10, no console error, nothing requested outside 127.0.0.1."""
    from cdp import WEBGL_FLAGS, Chromium, summarize

    shot = ARTIFACTS / "web_seed.png"
    with (
        serve(SEED, "--cache", str(seed_run_dir), "--speed", "10") as url,
        Chromium(ARTIFACTS / "chromium-web-profile", WEBGL_FLAGS, width=1280, height=800) as dt,
    ):
        dt.call("Page.navigate", url=url)
        fused = dt.wait_for("window.trilink && window.trilink.stats.firstFused", 90.0)
        assert fused, "no fused track reached the page: " + repr(summarize(dt.events)["errors"])
        assert fused["gtn"] >= 1 and fused["kind"] in ("warhead", "stage", "unknown")
        n_alerts = dt.wait_for("document.querySelectorAll('#alert-list li').length", 30.0)
        assert n_alerts and n_alerts >= 1
        t0, w0 = dt.evaluate("trilink.state.t"), time.monotonic()
        dt.pump(6.0)
        t1, w1 = dt.evaluate("trilink.state.t"), time.monotonic()
        rate = (t1 - t0) / (w1 - w0)
        assert rate > 8.0, f"the page's clock ran at x{rate:.1f}, not x10"
        dt.pump(1.0)
        dt.screenshot(shot)
        # the CZML export of the same run, loaded by the page as a layer
        dt.evaluate("document.querySelector('input[data-layer=czml]').click()")
        n_czml = dt.wait_for("trilink.stats.czmlEntities", 90.0)
        assert n_czml and n_czml > 50, n_czml
        dt.pump(2.0)
        dt.screenshot(ARTIFACTS / "web_seed_czml.png")
        dom = dt.evaluate(
            "({alert: document.querySelector('#alert-list li .headline').textContent,"
            " summary: document.getElementById('tracks-summary').textContent,"
            " view: document.getElementById('view').textContent,"
            " canvas: document.querySelector('#globe canvas').width,"
            " renders: trilink.stats.renders, gl: !!trilink.viewer.scene.context})"
        )
        events = list(dt.events)
    problems = summarize(events)
    assert problems["errors"] == [], "console errors:\n" + "\n".join(problems["errors"])
    assert not [w for w in problems["warnings"] if "ion" in w.lower()], problems["warnings"]
    outside = [u for u in problems["requests"] if not u.startswith((url, "blob:" + url, "data:"))]
    assert outside == [], outside
    assert problems["failed"] == [], problems["failed"]
    assert "Ballistic missile launch" in dom["alert"], dom
    assert re.search(r"[1-9]\d* fused track", dom["summary"]), dom
    assert dom["view"] == "hub view" and dom["canvas"] >= 1000 and dom["renders"] > 3, dom
    frac = _non_background_fraction(shot)
    assert frac > 0.3, f"only {frac:.0%} of the screenshot is not black: no globe?"


def test_cache_folder_holding_something_else(tmp_path: Path) -> None:
    """``--cache DIR`` never overwrites a folder that is not this scenario's run."""
    (tmp_path / "notes.txt").write_text("mine")
    res = subprocess.run(
        [*TRILINK, "serve", SEED, "--cache", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2, res.stderr
    assert "--cache" in res.stderr and "holds something else" in res.stderr, res.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"
