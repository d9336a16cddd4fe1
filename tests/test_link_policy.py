"""The sharing policy: permissions, releasability, accounts, and errors naming the field."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from trilink.link import messages as m
from trilink.link.policy import DEFAULT_POLICY_PATH, Policy, PolicyError

EPOCH = datetime(2023, 4, 13, tzinfo=UTC)
POLICY = Policy.default()


def _track(origin: str) -> m.TrackReport:
    return m.TrackReport(
        origin=origin,
        track_id=1,
        seq=1,
        time_s=1.0,
        epoch_utc=EPOCH,
        sent_time_s=1.0,
        r_ecef_m=(1.0, 2.0, 3.0),
        v_ecef_mps=(0.0, 0.0, 0.0),
        covariance_upper=(1.0,) * 21,
        sensor_ids=(f"{origin}-R1",),
    )


def _system_track() -> m.SystemTrack:
    return m.SystemTrack(
        origin="HUB",
        track_number=7,
        seq=1,
        time_s=1.0,
        epoch_utc=EPOCH,
        sent_time_s=1.0,
        r_ecef_m=(1.0, 2.0, 3.0),
        v_ecef_mps=(0.0, 0.0, 0.0),
        covariance_upper=(1.0,) * 21,
        contributing_nations=("KR",),
    )


def _notice(origin: str) -> m.LaunchNotice:
    return m.LaunchNotice(
        origin=origin,
        notice_id=1,
        time_s=50.0,
        epoch_utc=EPOCH,
        sent_time_s=50.0,
        launch=m.LaunchPoint(lat_deg=39.11234, lon_deg=125.99876, time_s=0.0),
        sigma_north_m=2000.0,
        sigma_east_m=2000.0,
        sigma_time_s=3.0,
        sensor_ids=("US-SBIRS-1",),
    )


def _alert(origin: str) -> m.Alert:
    return m.Alert(
        origin=origin,
        alert_id=1,
        region_id="JP-01",
        region_name="Hokkaido",
        level="take_cover",
        time_s=1.0,
        epoch_utc=EPOCH,
        sent_time_s=1.0,
    )


# --- permissions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "pattern", "allowed"),
    [
        ("JP", "tl.release.JP.>", True),
        ("JP", "tl.release.JP.system_tracks", True),
        ("JP", "tl.release.JP.*", True),
        ("JP", "tl.KR.>", False),
        ("JP", "tl.release.KR.>", False),
        ("JP", "tl.release.*.alerts", False),
        ("JP", "tl.release.>", False),
        ("JP", ">", False),
        ("JP", "tl.hub.>", False),
        ("HUB", "tl.JP.>", True),
        ("HUB", "tl.KR.tracks", True),
        ("HUB", "tl.hub.fusion", True),
        ("HUB", ">", False),
        ("XX", "tl.release.JP.>", False),
    ],
)
def test_may_subscribe(who: str, pattern: str, allowed: bool) -> None:
    assert POLICY.may_subscribe(who, pattern) is allowed


@pytest.mark.parametrize(
    ("who", "subject", "allowed"),
    [
        ("JP", "tl.JP.tracks", True),
        ("JP", "tl.JP.notices", True),
        ("JP", "tl.JP.heartbeat", True),
        ("JP", "tl.JP.status", True),
        ("JP", "tl.JP.other", False),
        ("JP", "tl.KR.tracks", False),
        ("JP", "tl.release.JP.system_tracks", False),
        ("JP", "tl.release.KR.alerts", False),
        ("JP", "tl.hub.x", False),
        ("KR", "tl.KR.tracks", True),
        ("US", "tl.US.notices", True),
        ("HUB", "tl.release.JP.system_tracks", True),
        ("HUB", "tl.release.KR.registration", True),
        ("HUB", "tl.hub.fusion", True),
        ("HUB", "tl.JP.tracks", False),
    ],
)
def test_may_publish(who: str, subject: str, allowed: bool) -> None:
    assert POLICY.may_publish(who, subject) is allowed


def test_invalid_subject_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="subject"):
        POLICY.may_publish("JP", "tl.JP.*")
    with pytest.raises(ValueError, match="pattern"):
        POLICY.may_subscribe("JP", "tl..x")


# --- releasability --------------------------------------------------------------------


def test_release_strips_sensor_ids_and_keeps_the_original() -> None:
    notice = _notice("US")
    out = POLICY.release(notice, "JP")
    assert isinstance(out, m.LaunchNotice)
    assert out.sensor_ids == ()
    assert notice.sensor_ids == ("US-SBIRS-1",)  # untouched
    # coarsened to 0.01 deg
    assert out.launch.lat_deg == pytest.approx(39.11, abs=1e-12)
    assert out.launch.lon_deg == pytest.approx(126.00, abs=1e-12)
    assert out.sigma_north_m == notice.sigma_north_m
    decision = POLICY.release_decision(notice, "JP")
    assert decision.allowed and "sensor_ids" in decision.reason and "coarsened" in decision.reason


@pytest.mark.parametrize("recipient", ["JP", "KR", "US"])
def test_no_partner_ever_gets_sensor_ids(recipient: str) -> None:
    for msg in (_notice("US"), _notice("HUB"), _track("US"), _track("KR"), _track("JP")):
        out = POLICY.release(msg, recipient)
        assert out is None or getattr(out, "sensor_ids", ()) == ()


def test_kr_track_report_never_reaches_jp_and_vice_versa() -> None:
    d = POLICY.release_decision(_track("KR"), "JP")
    assert not d.allowed and d.message is None
    assert "TrackReport from KR is not releasable to JP" in d.reason
    assert POLICY.release(_track("JP"), "KR") is None
    # KR's information reaches JP only as a hub-fused system track
    out = POLICY.release(_system_track(), "JP")
    assert out == _system_track()
    assert POLICY.release(_notice("KR"), "JP") is None
    assert POLICY.release(_notice("JP"), "KR") is None


@pytest.mark.parametrize("recipient", ["JP", "KR"])
def test_us_releases_system_tracks_notices_and_alerts_to_both(recipient: str) -> None:
    us_track = msgspec.structs.replace(_system_track(), origin="US")
    for msg in (us_track, _notice("US"), _alert("US")):
        assert POLICY.release(msg, recipient) is not None
    assert POLICY.release(_track("US"), recipient) is None


def test_sites_and_detections_are_never_released() -> None:
    site = m.SensorSite(
        origin="HUB",
        sensor_id="X",
        lat_deg=0.0,
        lon_deg=0.0,
        alt_m=0.0,
        sigma_range_m=1.0,
        sigma_az_rad=0.0,
        sigma_el_rad=0.0,
    )
    det = m.DetectionReport(
        origin="HUB", sensor_id="X", time_s=0.0, range_m=1.0, az_rad=0.0, el_rad=0.0
    )
    for recipient in ("JP", "KR", "US"):
        for msg in (site, det, msgspec.structs.replace(site, origin="US")):
            d = POLICY.release_decision(msg, recipient)
            assert not d.allowed and "never released" in d.reason


def test_registration_goes_only_to_its_addressee() -> None:
    corr = m.RegistrationCorrection(
        origin="HUB",
        recipient="JP",
        sensor_id="JP-R1",
        time_s=0.0,
        range_bias_m=1.0,
        az_bias_rad=0.0,
        el_bias_rad=0.0,
        sigma_range_m=1.0,
        sigma_az_rad=0.0,
        sigma_el_rad=0.0,
    )
    assert POLICY.release(corr, "JP") == corr
    d = POLICY.release_decision(corr, "KR")
    assert not d.allowed and "addressed to JP" in d.reason


def test_hub_receives_everything_and_unknown_recipients_nothing() -> None:
    assert POLICY.release(_track("KR"), "HUB") == _track("KR")
    d = POLICY.release_decision(_system_track(), "XX")
    assert not d.allowed and "unknown recipient" in d.reason


# --- accounts -----------------------------------------------------------------------


def test_accounts_describe_the_star() -> None:
    acc = POLICY.accounts()
    assert list(acc) == ["HUB", "JP", "KR", "US"]
    jp = acc["JP"]
    assert jp.role == "partner"
    assert {e.subject for e in jp.exports} == {
        "tl.JP.tracks",
        "tl.JP.notices",
        "tl.JP.heartbeat",
        "tl.JP.status",
    }
    assert all(e.to == ("HUB",) for e in jp.exports)
    assert [(i.subject, i.from_account) for i in jp.imports] == [("tl.release.JP.>", "HUB")]
    hub = acc["HUB"]
    assert {(e.subject, e.to) for e in hub.exports} == {
        ("tl.release.JP.>", ("JP",)),
        ("tl.release.KR.>", ("KR",)),
        ("tl.release.US.>", ("US",)),
    }
    assert ("tl.KR.tracks", "KR") in {(i.subject, i.from_account) for i in hub.imports}
    # no stream joins two partners
    for name in ("JP", "KR", "US"):
        assert all(i.from_account == "HUB" for i in acc[name].imports)
        assert all(e.to == ("HUB",) for e in acc[name].exports)
    assert jp.as_dict()["imports"] == [{"subject": "tl.release.JP.>", "from_account": "HUB"}]


# --- files and their errors ---------------------------------------------------------

DEFAULT_TEXT = DEFAULT_POLICY_PATH.read_text()


def test_default_file_is_the_default_and_loads_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(DEFAULT_TEXT)
    p = Policy.load(path)
    assert p.participants == ("HUB", "JP", "KR", "US") and p.hub == "HUB"
    assert tomllib.loads(DEFAULT_TEXT)["version"] == 1


def _edit(old: str, new: str) -> str:
    assert old in DEFAULT_TEXT, old
    return DEFAULT_TEXT.replace(old, new, 1)


JP_TYPES = (
    '[release.JP.from.HUB]\ntypes = ["SystemTrack", "LaunchNotice", "Alert", '
    '"RegistrationCorrection", "LinkStatus", "Heartbeat"]'
)

BAD_FILES = [
    ("version = 1", "version = 2", "version: unsupported version 2"),
    ('hub = "HUB"', 'hub = "HQ"', "hub: 'HQ' is not one of the participants"),
    (
        'participants = ["HUB", "JP", "KR", "US"]',
        'participants = ["HUB", "JP", "jp", "KR", "US"]',
        "participants[2]: 'jp' is not a valid name",
    ),
    (
        'participants = ["HUB", "JP", "KR", "US"]',
        'participants = ["HUB", "JP", "KR", "US", "JP"]',
        "participants[4]: duplicate participant 'JP'",
    ),
    (
        'never_release = ["SensorSite", "DetectionReport"]',
        'never_release = ["SensorSite", "Foo"]',
        "never_release[1]: unknown message type 'Foo'",
    ),
    (
        JP_TYPES,
        JP_TYPES.replace('"Alert"', '"Foo"'),
        "release.JP.from.HUB.types[2]: unknown message type 'Foo'",
    ),
    (
        JP_TYPES,
        JP_TYPES.replace('"Alert"', '"DetectionReport"'),
        "release.JP.from.HUB.types[2]: 'DetectionReport' is listed in never_release",
    ),
    (
        "[release.JP.from.US]",
        "[release.JP.from.CN]",
        "release.JP.from.CN: unknown participant 'CN'",
    ),
    (
        '[release.JP]\nstrip = ["sensor_ids"]',
        '[release.JP]\nstrip = ["sensor_idz"]',
        "release.JP.strip[0]: no strippable field 'sensor_idz'",
    ),
    (
        '[release.JP]\nstrip = ["sensor_ids"]',
        '[release.JP]\nstrip = ["TrackReport.time_s"]',
        "release.JP.strip[0]: TrackReport.time_s is a required field",
    ),
    (
        '[release.JP]\nstrip = ["sensor_ids"]',
        '[release.JP]\nstrip = "sensor_ids"',
        "release.JP.strip: expected a list of strings, got string",
    ),
    (
        '[release.JP]\nstrip = ["sensor_ids"]',
        '[release.JP]\nstrip = ["sensor_ids"]\nshare = 1',
        "release.JP.share: unknown key",
    ),
    (
        '"LaunchNotice.launch.lat_deg" = 0.01\n"LaunchNotice.launch.lon_deg" = 0.01\n\n[release.JP',
        '"LaunchNotice.launch.lat_deg" = -1\n"LaunchNotice.launch.lon_deg" = 0.01\n\n[release.JP',
        'release.JP.coarsen."LaunchNotice.launch.lat_deg": quantum must be a finite number > 0',
    ),
    (
        '"LaunchNotice.launch.lat_deg" = 0.01\n"LaunchNotice.launch.lon_deg" = 0.01\n\n[release.JP',
        '"LaunchNotice.sensor_ids" = 0.01\n"LaunchNotice.launch.lon_deg" = 0.01\n\n[release.JP',
        "only float fields",
    ),
    ("[release.US]", "[release.HUB]", "release.HUB: the hub receives every national report"),
    (
        'publish = ["tl.JP.tracks",',
        'publish = ["tl.KR.tracks",',
        "permissions.JP.publish[0]: 'tl.KR.tracks' is outside JP's publish namespace tl.JP.>",
    ),
    (
        'subscribe = ["tl.release.JP.>"]',
        'subscribe = ["tl.release.>"]',
        "permissions.JP.subscribe[0]: 'tl.release.>' is outside JP's subscribe namespace",
    ),
    (
        'subscribe = ["tl.release.JP.>"]',
        'subscribe = ["tl.release.JP..x"]',
        "permissions.JP.subscribe[0]: pattern 'tl.release.JP..x': empty token",
    ),
    (
        'publish = ["tl.release.>", "tl.hub.>"]',
        'publish = ["tl.release.>", "tl.JP.tracks"]',
        "permissions.HUB.publish[1]: 'tl.JP.tracks' is outside HUB's publish namespace",
    ),
    ("[permissions.US]", "[permissions.CN]", "permissions.CN: unknown participant 'CN'"),
    (
        '[permissions.US]\npublish = ["tl.US.tracks", "tl.US.notices", "tl.US.heartbeat", '
        '"tl.US.status"]\nsubscribe = ["tl.release.US.>"]\n',
        "",
        "permissions.US: missing",
    ),
    ("version = 1", 'version = 1\ncolour = "blue"', "colour: unknown key"),
    ("version = 1", "version = [", "not valid TOML"),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD_FILES)
def test_bad_policy_files_name_the_field(old: str, new: str, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        Policy.loads(_edit(old, new), source="bad.toml")
    text = str(info.value)
    assert text.startswith("bad.toml: ")
    assert message in text
    assert "\n" not in text.split("not valid TOML")[0]


def test_partner_hearing_a_partner_is_refused() -> None:
    doc = tomllib.loads(DEFAULT_TEXT)
    doc["participants"].append("TW")
    doc["permissions"]["TW"] = {"publish": ["tl.TW.tracks"], "subscribe": ["tl.release.TW.>"]}
    Policy.from_dict(doc)  # fine
    doc["permissions"]["JP"]["subscribe"].append("tl.TW.tracks")
    with pytest.raises(PolicyError, match=r"permissions.JP.subscribe\[1\]"):
        Policy.from_dict(doc)


def test_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        Policy.load(tmp_path / "nope.toml")
