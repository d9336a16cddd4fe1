"""DIS Entity State PDUs (trilink.export.dis): decoded by hand (struct, from the
IEEE 1278.1-2012 §7.2.2 layout) on a synthetic run whose geodetic truth comes from
pyproj, and by Wireshark's DIS dissector (tshark) on loopback for the seed run."""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from export_synthetic import KEPT_TIMES, TRACKS, V_ENU_MPS, enu_axes, geodetic_of_row, make_run
from trilink.export.dis import ESPDU_LENGTH, entity_state_pdus, send_dis, write_dis
from trilink.export.runfolder import read_run
from trilink.export.thinning import thin_track_updates

# IEEE 1278.1-2012 §7.2.2 Entity State PDU without variable parameters, network order:
# header (12), entity ID (6), force, #params, entity type (8), alternative type (8),
# linear velocity (3 x float32), location (3 x float64), orientation (3 x float32),
# appearance (32 bits), DR algorithm + 15 octets + acceleration + angular velocity,
# marking (character set + 11 octets), capabilities (32 bits).
ESPDU = struct.Struct("!BBBBIHBB HHH BB BBHBBBB BBHBBBB 3f 3d 3f I B15s3f3f B11s I")
assert ESPDU.size == 144

TIME_UNIT_S = 3600.0 / 2**31  # IEEE 1278.1-2012 §6.2.88
GM_M3PS2 = 3.986004418e14  # WGS-84 (NGA.STND.0036, 2014)
OMEGA_RADPS = 7.292115e-5  # WGS-84 (NGA.STND.0036, 2014)
EXPECTED_MARKING = {7: "GTN7 WHD", 12: "GTN12 DEB", 40000: "GTN40000STG"}
EXPECTED_TYPE = {  # (kind, domain, country, category): SISO-REF-010 UIDs 7, 14, 29
    "warhead": (2, 10, 119, 1),
    "debris": (0, 0, 119, 0),
    "stage": (0, 0, 119, 0),
}
_TO_GEODETIC = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)


def _decode(pdu: bytes) -> dict:
    f = ESPDU.unpack(pdu)
    return {
        "version": f[0],
        "exercise": f[1],
        "pdu_type": f[2],
        "family": f[3],
        "timestamp": f[4],
        "length": f[5],
        "entity_id": (f[8], f[9], f[10]),
        "force": f[11],
        "n_params": f[12],
        "type": (f[13], f[14], f[15], f[16]),
        "v": np.array(f[27:30]),
        "r": np.array(f[30:33]),
        "psi": f[33],
        "theta": f[34],
        "phi": f[35],
        "appearance": f[36],
        "dr": f[37],
        "a": np.array(f[39:42]),
        "charset": f[45],
        "marking": f[46].rstrip(b"\0").decode("ascii"),
    }


@pytest.fixture()
def synthetic(tmp_path: Path):
    return read_run(make_run(tmp_path / "run"))


def _expected_order() -> list[tuple[float, int]]:
    return sorted((t, n) for n, times in KEPT_TIMES.items() for t in times)


def test_header_ids_types_and_markings(synthetic):
    pdus = [_decode(p) for p in entity_state_pdus(synthetic)]
    kinds = {n: kind for n, kind, *_ in TRACKS}
    assert [p["entity_id"][2] for p in pdus] == [n for _, n in _expected_order()]
    for p in pdus:
        n = p["entity_id"][2]
        assert (p["version"], p["exercise"], p["pdu_type"], p["family"]) == (7, 1, 1, 1)
        assert p["length"] == ESPDU_LENGTH == 144
        assert p["entity_id"][:2] == (1, 1)
        assert p["force"] == 2  # Opposing
        assert p["n_params"] == 0 and p["appearance"] == 0
        assert p["type"] == EXPECTED_TYPE[kinds[n]]
        assert p["dr"] == 5  # DRM(F,V,W)
        assert p["charset"] == 1 and p["marking"] == EXPECTED_MARKING[n]


def test_timestamps_are_relative_time_past_the_hour(synthetic):
    pdus = [_decode(p) for p in entity_state_pdus(synthetic)]
    for p, (t, _) in zip(pdus, _expected_order(), strict=True):
        assert p["timestamp"] & 1 == 0  # relative
        past_hour_s = (p["timestamp"] >> 1) * TIME_UNIT_S
        # epoch 22:22:00 UTC: 22 min past the hour, plus t
        assert abs(past_hour_s - (22 * 60 + t)) <= TIME_UNIT_S, (past_hour_s, t)


def test_location_round_trips_through_pyproj(synthetic):
    """The PDU's world coordinates (float64 ECEF) equal pyproj's forward transform of the
    track's geodetic truth to 1 µm, and pyproj's inverse gives that truth back (to its
    own ~0.6 mm inverse accuracy at 300 km). A float32 location would be ~0.5 m off."""
    to_ecef = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
    pdus = [_decode(p) for p in entity_state_pdus(synthetic)]
    for p, (t, n) in zip(pdus, _expected_order(), strict=True):
        lat0, lon0, alt0 = geodetic_of_row(n, t)
        np.testing.assert_allclose(p["r"], to_ecef.transform(lon0, lat0, alt0), rtol=0, atol=1e-6)
        lon, lat, alt = _TO_GEODETIC.transform(*p["r"])
        dlon = (lon - lon0 + 180.0) % 360.0 - 180.0  # the stage crosses 180°
        assert abs(lat - lat0) < 2e-8 and abs(dlon) < 2e-8, (n, t, lat, lon)
        assert abs(alt - alt0) < 2e-3, (n, t, alt, alt0)
        v_ecef = enu_axes(lat0, lon0).T @ V_ENU_MPS
        np.testing.assert_allclose(p["v"], v_ecef, rtol=0, atol=1e-3)


def test_orientation_points_the_body_x_axis_along_the_velocity(synthetic):
    for p in map(_decode, entity_state_pdus(synthetic)):
        psi, theta = p["psi"], p["theta"]
        x_body = np.array(
            [np.cos(theta) * np.cos(psi), np.cos(theta) * np.sin(psi), -np.sin(theta)]
        )
        np.testing.assert_allclose(x_body, p["v"] / np.linalg.norm(p["v"]), rtol=0, atol=1e-6)
        assert p["phi"] == 0.0


def test_dead_reckoning_acceleration_is_ballistic_in_the_rotating_frame(synthetic):
    """Point-mass gravity + Coriolis + centrifugal (independent formula) to 0.05 m/s²,
    which J2 (≲ 0.04 m/s² here) fits and a missing Coriolis term (≈ 0.3 m/s²) does not."""
    for p in map(_decode, entity_state_pdus(synthetic)):
        r, v = p["r"], p["v"].astype(float)
        w = np.array([0.0, 0.0, OMEGA_RADPS])
        a = (
            -GM_M3PS2 * r / np.linalg.norm(r) ** 3
            - 2 * np.cross(w, v)
            - np.cross(w, np.cross(w, r))
        )
        err = np.linalg.norm(p["a"] - a)
        assert err < 0.05, (p["entity_id"], p["a"], a, err)


def test_thinning_keeps_one_update_per_5_s_and_each_last(synthetic):
    kept = thin_track_updates(synthetic.system_tracks, 5.0)
    got = sorted(zip(kept["time_s"], kept["global_track_number"], strict=True))
    assert got == _expected_order()
    with pytest.raises(ValueError, match="every_s"):
        thin_track_updates(synthetic.system_tracks, 0.0)


def test_write_dis_raw_concatenation_and_pcap(synthetic, tmp_path):
    pdus = entity_state_pdus(synthetic)
    raw = write_dis(synthetic, tmp_path / "picture.dis")
    assert raw.read_bytes() == b"".join(pdus)
    pcap = write_dis(synthetic, tmp_path / "picture.pcap")
    data = pcap.read_bytes()
    assert struct.unpack("<I", data[:4])[0] == 0xA1B2C3D4
    if shutil.which("tshark") is None:
        pytest.skip("tshark not installed (CI installs it with `make tshark`)")
    rows = _tshark_rows(["-r", str(pcap)])
    assert [int(r["dis.entity_id_entity"]) for r in rows] == [n for _, n in _expected_order()]


def test_send_dis_paces_by_speed_and_sends_every_pdu(synthetic):
    pdus = entity_state_pdus(synthetic)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(5.0)
        port = rx.getsockname()[1]
        t0 = time.monotonic()
        n = send_dis(synthetic, "127.0.0.1", port, speed=24.0)  # 12 s of scenario -> 0.5 s
        elapsed = time.monotonic() - t0
        got = [rx.recv(2048) for _ in range(n)]
    assert n == len(pdus) == 8
    assert got == pdus
    assert 0.45 <= elapsed < 5.0, elapsed


def test_bad_destination_is_named(synthetic):
    with pytest.raises(ValueError, match="port"):
        send_dis(synthetic, "127.0.0.1", 70000)
    with pytest.raises(ValueError, match="host"):
        send_dis(synthetic, "no-such-host.invalid", 3000)
    with pytest.raises(ValueError, match="speed"):
        send_dis(synthetic, "127.0.0.1", 3000, speed=0.0)


def test_track_number_beyond_dis_entity_range_is_refused(tmp_path):
    root = make_run(tmp_path / "run")
    df = pd.read_csv(root / "system_tracks.csv")
    df.loc[df["global_track_number"] == 12, "global_track_number"] = 70000
    df.to_csv(root / "system_tracks.csv", index=False)
    with pytest.raises(ValueError, match="global_track_number 70000"):
        entity_state_pdus(read_run(root))


# --- tshark (Wireshark's DIS dissector) on loopback -------------------------------------

FIELDS = (
    "dis.proto_ver",
    "dis.exer_id",
    "dis.pdu_type",
    "dis.proto_fam",
    "dis.pdu_length",
    "dis.entity_id_site",
    "dis.entity_id_application",
    "dis.entity_id_entity",
    "dis.force_id",
    "dis.entityKind",
    "dis.entityDomain",
    "dis.country",
    "dis.entity_location.x",
    "dis.entity_location.y",
    "dis.entity_location.z",
    "dis.entity_marking",
    "dis.timestamp",
    # Wireshark 4.0 files both the DR algorithm and the marking's character set under
    # this name: "5,1" = DRM(F,V,W), ASCII
    "dis.entity_marking_character_set",
)


def _tshark_cmd(extra: list[str]) -> list[str]:
    cmd = ["tshark", "-n", "-l", *extra, "-T", "fields", "-E", "separator=\t"]
    for f in FIELDS:
        cmd += ["-e", f]
    return cmd


def _parse(stdout: str) -> list[dict[str, str]]:
    rows = []
    for line in stdout.splitlines():
        # a field found twice (entity type, then alternative type) keeps its first value
        # under its name and all of them under "all:<name>"
        values = line.split("\t")
        row = dict(zip(FIELDS, (v.split(",")[0] for v in values), strict=True))
        row.update({f"all:{f}": v for f, v in zip(FIELDS, values, strict=True)})
        rows.append(row)
    return rows


def _tshark_rows(extra: list[str]) -> list[dict[str, str]]:
    done = subprocess.run(_tshark_cmd(extra), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return _parse(done.stdout)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tshark_decodes_the_seed_pictures_pdus_on_loopback(seed_run_dir):
    if shutil.which("tshark") is None:
        pytest.skip("tshark not installed (CI installs it with `make tshark`)")
    run = read_run(seed_run_dir)
    pdus = [_decode(p) for p in entity_state_pdus(run)]
    port = _free_udp_port()
    capture = [
        "-i", "lo", "-f", f"udp port {port}", "-c", str(len(pdus)),
        "-d", f"udp.port=={port},dis", "-B", "16",
    ]  # fmt: skip
    proc = subprocess.Popen(
        _tshark_cmd(capture), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    started = threading.Event()
    err_lines: list[str] = []

    def watch_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            err_lines.append(line)
            if "Capturing on" in line:
                started.set()

    threading.Thread(target=watch_stderr, daemon=True).start()
    try:
        if not started.wait(30.0):
            pytest.fail(f"tshark did not start capturing on lo: {''.join(err_lines)}")
        sent = send_dis(run, "127.0.0.1", port)
        stdout, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    rows = _parse(stdout)
    assert sent == len(pdus) > 1000
    assert len(rows) == sent, f"tshark decoded {len(rows)} of {sent}: {''.join(err_lines)}"
    worst_m = 0.0
    for row, p in zip(rows, pdus, strict=True):
        assert (row["dis.proto_ver"], row["dis.pdu_type"], row["dis.proto_fam"]) == ("7", "1", "1")
        assert row["dis.exer_id"] == "1" and row["dis.pdu_length"] == "144"
        ids = (row["dis.entity_id_site"], row["dis.entity_id_application"])
        assert ids == ("1", "1")
        assert int(row["dis.entity_id_entity"]) == p["entity_id"][2]
        n = p["entity_id"][2]
        assert row["dis.entity_marking"] == p["marking"]
        assert p["marking"] in {f"GTN{n} {code}" for code in ("WHD", "STG", "DEB", "UNK")}
        assert row["dis.force_id"] == "2" and row["dis.country"] == "119"
        assert row["all:dis.entity_marking_character_set"] == "5,1"
        assert (int(row["dis.entityKind"]), int(row["dis.entityDomain"])) == p["type"][:2]
        xyz = np.array([float(row[f"dis.entity_location.{c}"]) for c in "xyz"])
        worst_m = max(worst_m, float(np.max(np.abs(xyz - p["r"]))))
        assert abs(float(row["dis.timestamp"]) - (p["timestamp"] >> 1) * TIME_UNIT_S) < 2e-6
    assert worst_m < 1e-3, worst_m  # tshark prints 15 significant digits
    # and the picture's own values: the PDUs carry the hub's fused positions
    tracks = run.system_tracks
    assert tracks is not None
    first = tracks.sort_values(["time_s", "global_track_number"]).iloc[0]
    np.testing.assert_allclose(
        pdus[0]["r"], first[["x_ecef_m", "y_ecef_m", "z_ecef_m"]].to_numpy(float), rtol=0, atol=1e-6
    )
