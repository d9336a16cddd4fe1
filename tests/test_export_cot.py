"""Cursor-on-Target events (trilink.export.cot): fields checked on a synthetic run whose
geodetic truth, velocity and covariance are known (pyproj for positions), and the seed
run's events streamed through a real TAK server (PyPI ``taky``, on 127.0.0.1) to a
second client, parsed back with lxml."""

from __future__ import annotations

import datetime as dt
import math
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from lxml import etree
from pyproj import Transformer

from export_synthetic import (
    EPOCH_UTC,
    KEPT_TIMES,
    SIGMA_ENU_M,
    TRACKS,
    V_ENU_MPS,
    geodetic_of_row,
    make_run,
)
from trilink.export.cot import cot_events, stream_cot, write_cot
from trilink.export.runfolder import read_run
from trilink.export.thinning import thin_track_updates

EXPECTED_TYPE = {  # MITRE CoTtypes.xml (MIL-STD-2525B air tracks), hostile affiliation
    "warhead": "a-h-A-W-M-S-S",  # Air/Weapon/Missile/Surface To Surface (SSM)
    "unknown": "a-h-A-W-M",  # Air/Weapon/Missile In Flight
    "stage": "a-h-A",  # Air Track
    "debris": "a-h-A",
}


def _utc(t_s: float) -> dt.datetime:
    return dt.datetime.fromisoformat(EPOCH_UTC) + dt.timedelta(seconds=t_s)


def _parse_time(s: str) -> dt.datetime:
    assert s.endswith("Z"), s
    return dt.datetime.fromisoformat(s[:-1] + "+00:00")


def _expected_order() -> list[tuple[float, int]]:
    return sorted((t, n) for n, times in KEPT_TIMES.items() for t in times)


@pytest.fixture()
def synthetic(tmp_path: Path):
    return read_run(make_run(tmp_path / "run"))


def test_event_fields_from_a_known_track(synthetic):
    events = [etree.fromstring(e) for e in cot_events(synthetic)]
    kinds = {n: kind for n, kind, *_ in TRACKS}
    assert len(events) == 8
    course = math.degrees(math.atan2(V_ENU_MPS[0], V_ENU_MPS[1]))  # clockwise from north
    speed = float(np.linalg.norm(V_ENU_MPS))
    slope = math.degrees(math.atan2(V_ENU_MPS[2], math.hypot(V_ENU_MPS[0], V_ENU_MPS[1])))
    for ev, (t, n) in zip(events, _expected_order(), strict=True):
        assert ev.tag == "event" and ev.get("version") == "2.0"
        assert ev.get("uid") == f"trilink-HUB-GTN-{n}"
        assert ev.get("type") == EXPECTED_TYPE[kinds[n]]
        assert ev.get("how") == "m-f"
        assert _parse_time(ev.get("time")) == _utc(t) == _parse_time(ev.get("start"))
        assert _parse_time(ev.get("stale")) - _utc(t) == dt.timedelta(seconds=15)
        pt = ev.find("point")
        lat0, lon0, alt0 = geodetic_of_row(n, t)
        dlon = (float(pt.get("lon")) - lon0 + 180.0) % 360.0 - 180.0  # the stage crosses 180°
        assert abs(float(pt.get("lat")) - lat0) < 2e-8 and abs(dlon) < 2e-8, (n, t)
        assert -180.0 <= float(pt.get("lon")) <= 180.0
        assert abs(float(pt.get("hae")) - alt0) < 0.01
        # ce: semi-major axis of the 1-sigma horizontal ellipse (σe = 100 m > σn = 40 m);
        # le: 1-sigma vertical (σu = 25 m)
        assert abs(float(pt.get("ce")) - SIGMA_ENU_M[0]) < 0.06
        assert abs(float(pt.get("le")) - SIGMA_ENU_M[2]) < 0.06
        trk = ev.find("detail/track")
        assert abs(float(trk.get("course")) - course) < 0.006
        assert abs(float(trk.get("speed")) - speed) < 0.006
        assert abs(float(trk.get("slope")) - slope) < 0.006
        ours = ev.find("detail/trilink")
        assert ours.get("track_number") == str(n) and ours.get("kind") == kinds[n]
        assert ours.get("contributors") == "KR;JP;US" and ours.get("reporting_nation") == "JP"
        if kinds[n] == "warhead":
            assert _parse_time(ours.get("impact_time")) == _utc(2000.0)
            assert float(ours.get("impact_lat_deg")) == 43.5
        else:
            assert ours.get("impact_time") is None
        assert ev.find("detail/contact").get("callsign") == f"GTN-{n} {kinds[n]}"


def test_write_cot_is_one_xml_document_of_the_events(synthetic, tmp_path):
    path = write_cot(synthetic, tmp_path / "picture.cot.xml")
    root = etree.parse(str(path)).getroot()
    got = [etree.tostring(e, with_tail=False) for e in root.iterchildren("event")]
    want = [etree.tostring(etree.fromstring(e)) for e in cot_events(synthetic)]
    assert got == want and len(got) == 8


@pytest.mark.parametrize(
    "url",
    [
        "udp://127.0.0.1:8087",
        "tcp://127.0.0.1",
        "tcp://:8087",
        "127.0.0.1:8087",
        "tcp://127.0.0.1:99999",
        "tcp://127.0.0.1:8087/x",
    ],
)
def test_bad_url_names_the_option(synthetic, url):
    with pytest.raises(ValueError, match="--to"):
        stream_cot(synthetic, url)


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nothing_listening_is_a_connection_error_naming_the_url(synthetic):
    url = f"tcp://127.0.0.1:{_free_tcp_port()}"
    with pytest.raises(ConnectionError, match=f"--to {url}"):
        stream_cot(synthetic, url)


def test_stream_paces_by_speed_and_sends_every_event(synthetic):
    events = cot_events(synthetic)
    received = bytearray()
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]

        def serve() -> None:
            conn, _ = srv.accept()
            with conn:
                while chunk := conn.recv(65536):
                    received.extend(chunk)

        th = threading.Thread(target=serve, daemon=True)
        th.start()
        t0 = time.monotonic()
        n = stream_cot(synthetic, f"tcp://127.0.0.1:{port}", speed=24.0)  # 12 s -> 0.5 s
        elapsed = time.monotonic() - t0
        th.join(5.0)
    assert n == len(events) == 8
    assert bytes(received) == b"".join(events)
    assert 0.45 <= elapsed < 5.0, elapsed


def test_thinning_interval_is_5_s(synthetic):
    kept = thin_track_updates(synthetic.system_tracks, 5.0)
    assert len(kept) == len(cot_events(synthetic))


# --- a real TAK server: taky ---------------------------------------------------------


def _taky_conf(root: Path, port: int) -> Path:
    conf = root / "taky.conf"
    conf.write_text(
        "[taky]\n"
        "hostname=localhost\n"
        "node_id=TRILINK-TEST\n"
        "bind_ip=127.0.0.1\n"
        f"root_dir={root}\n"
        "[cot_server]\n"
        f"port={port}\n"
        "[dp_server]\n"
        f"upload_path={root / 'dp-user'}\n"
        "[ssl]\n"
        "enabled=false\n"
    )
    return conf


@pytest.fixture()
def taky_server(tmp_path: Path):
    """A taky CoT server on 127.0.0.1:<free port>, plain TCP; stopped in teardown."""
    exe = Path(sys.executable).with_name("taky")
    if not exe.exists():
        pytest.fail(f"taky not installed at {exe} (a dev dependency: `uv sync`)")
    port = _free_tcp_port()
    conf = _taky_conf(tmp_path, port)
    log = (tmp_path / "taky.log").open("w")
    proc = subprocess.Popen(
        [str(exe), "-c", str(conf), "-l", "warning"], cwd=tmp_path, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 20.0
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"taky did not start: {(tmp_path / 'taky.log').read_text()}")
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


class _Receiver:
    """A second TAK client: reads what the server routes to it, parses each <event>."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10.0)
        self.parser = etree.XMLPullParser(events=("end",), tag="event")
        self.parser.feed(b"<stream>")

    def ping(self) -> None:
        now = dt.datetime.now(dt.UTC)
        iso = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        stale = (now + dt.timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.sock.sendall(
            f'<event version="2.0" uid="trilink-test-rx-ping" type="t-x-c-t" how="h-g-i-g-o" '
            f'time="{iso}" start="{iso}" stale="{stale}"><point lat="0" lon="0" hae="0" '
            f'ce="9999999" le="9999999"/><detail/></event>'.encode()
        )

    def events(self, until, timeout_s: float) -> list[etree._Element]:
        got: list[etree._Element] = []
        deadline = time.monotonic() + timeout_s
        while not until(got) and time.monotonic() < deadline:
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                break
            self.parser.feed(chunk)
            got.extend(el for _, el in self.parser.read_events())
        return got

    def close(self) -> None:
        self.sock.close()


def test_taky_routes_the_seed_events_to_another_client(seed_run_dir, taky_server):
    run = read_run(seed_run_dir)
    ours = [etree.fromstring(e) for e in cot_events(run)]
    rx = _Receiver(taky_server)
    try:
        # the server answers a client's ping with a pong: then it has registered the
        # receiver, and will route the stream's events to it
        rx.ping()
        pong = rx.events(lambda g: any(e.get("type") == "t-x-c-t-r" for e in g), 10.0)
        assert any(e.get("type") == "t-x-c-t-r" for e in pong), "taky never answered"
        t0 = time.monotonic()
        sent = stream_cot(run, f"tcp://127.0.0.1:{taky_server}")

        def ours_only(g: list) -> list:
            return [e for e in g if (e.get("uid") or "").startswith("trilink-HUB-GTN-")]

        got = ours_only(rx.events(lambda g: len(ours_only(g)) >= sent, 30.0))
        elapsed = time.monotonic() - t0
    finally:
        rx.close()
    assert sent == len(ours) > 1000
    assert len(got) == sent, f"received {len(got)} of {sent} in {elapsed:.1f} s"
    # our values, from the fused ECEF state through pyproj (independent geodesy)
    rows = thin_track_updates(run.system_tracks, 5.0)
    to_geo = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)
    lon_deg, lat_deg, _ = to_geo.transform(
        rows["x_ecef_m"].to_numpy(), rows["y_ecef_m"].to_numpy(), rows["z_ecef_m"].to_numpy()
    )
    worst = 0.0
    for i, (rx_ev, our_ev) in enumerate(zip(got, ours, strict=True)):
        n = int(rows["global_track_number"].iloc[i])
        assert rx_ev.get("uid") == our_ev.get("uid") == f"trilink-HUB-GTN-{n}"
        assert rx_ev.get("type") == our_ev.get("type")
        assert rx_ev.get("how") == "m-f"
        pt = rx_ev.find("point")
        d_lat = abs(float(pt.get("lat")) - lat_deg[i])
        d_lon = abs((float(pt.get("lon")) - lon_deg[i] + 180.0) % 360.0 - 180.0)
        worst = max(worst, d_lat, d_lon)
        assert _parse_time(rx_ev.get("time")) == run.utc(float(rows["time_s"].iloc[i]))
        trk = rx_ev.find("detail/track")
        assert trk is not None and trk.get("course") == our_ev.find("detail/track").get("course")
    assert worst < 1e-6, worst  # taky re-serialises lat/lon with 6 decimals
    assert {e.get("type") for e in got} >= {"a-h-A-W-M-S-S", "a-h-A"}
