"""The deployed run: each national node and the hub as its own process over real NATS.

Same code path as the embedded run (:func:`trilink.sim.link_run.run_link`):
:class:`~trilink.link.node.NationalNode` and :class:`~trilink.link.hub.Hub` over a
:class:`~trilink.link.nats_transport.NatsTransport` instead of the in-process bus.

**Node** (:func:`node_main`): runs its nation's tracker on the scenario (same seed →
the same detections and tracks as the embedded run), then publishes one output epoch
after another on the tracker's grid (``every_s`` from 0 to the scenario's end): its
reports valid at the epoch, then the heartbeat closing it. It reads what the hub
releases to it from the hub's ``RELEASE_<N>`` stream through a durable JetStream
consumer, so nothing released while it was cut off is lost. *Flow control*: before
sending epoch t the node waits until the hub has fused t - ``window_s`` (the hub's
status heartbeat on ``tl.release.<N>.status``). The hub's clock is scenario time, the
newest ``sent_time_s`` in its input (deterministic, and the same clock as the embedded
run), so a nation is "silent" for the hub's ``max_silence_s`` rule only once another
is that many scenario seconds ahead; with ``window_s`` below ``max_silence_s`` that
never happens in a healthy run, the hub fuses an epoch only when every nation has
closed it, and the picture is the embedded one. ``stall_s`` (default: wait for ever)
bounds that wait: a node cut off from the hub then goes on at one epoch per
``stall_s``, and the others, no longer hearing it, go on too; the hub fuses without
the silent nation once another is ``max_silence_s`` ahead. A node's reports sent while
its link is cut are lost for fusion: the hub has fused those epochs by the time they
could arrive and would drop them as late, so they are not re-sent (nor kept in a
national JetStream); fusion of the nation's reports resumes with its first epoch after
reconnection.

**Hub** (:func:`hub_main`): reads its input (every national report and heartbeat)
from the hub's ``HUB_INPUT`` stream, in stream order, and hands each message to a
:class:`~trilink.link.hub.Hub`. A (re)started hub process replays the stream from the
start through a fresh :class:`~trilink.fusion.Fuser`: the same input in the same order
gives the same fused state, global track numbers and signed releases (the hub's signer
numbers them the same way). Every release carries a ``Nats-Msg-Id`` header derived
from the hub signer's sequence number, so the release streams store a message the
restarted hub re-publishes only once (within the streams' duplicate window, 120 s by
default) and partners see no duplicate. After every fused epoch the hub releases a
:class:`~trilink.link.messages.Heartbeat` (time of the epoch) to each partner: the
nodes' flow control. The hub also runs the warning chain
(:class:`~trilink.warning.timeline.WarningRunner`) on each picture as it is fused, with
the scenario's space-IR launch notices (:func:`trilink.sim.run.scenario_launch_notices`:
the US satellites report to the US hub), so its alerts are decided from the same
pictures in the same order as the embedded run's, and no wall-clock time enters a
decision. Outputs: ``events.jsonl`` (alert decisions included), ``system_tracks.csv``
(as the embedded run), ``alerts/*.xml`` and ``alerts.jsonl`` (as the embedded run),
``released.jsonl`` (what went to whom) and ``hub_summary.json``.

Epochs: nodes close every epoch of the grid, the embedded run only those where some
nation has a track. The hub fuses the extra, empty epochs too; that only predicts live
system tracks, so the tables are equal whenever the union of the nations' epochs has
no hole (both built-in scenarios). (See the report: a hub option to skip empty epochs
would make it exact in general.)
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trilink.fusion import Fuser
from trilink.link.deploy import INPUT_STREAM, LocalDeployment
from trilink.link.hub import Hub
from trilink.link.messages import Bundle, Heartbeat, decode_message, decode_signed
from trilink.link.nats_transport import NatsTransport, ReleasedMessage
from trilink.link.node import NationalNode, rows_by_epoch
from trilink.link.signing import Signer, Verifier
from trilink.sim.link_run import EventLog, LinkResult

__all__ = [
    "HubOutcome",
    "NodeOutcome",
    "epoch_grid",
    "hub_main",
    "node_main",
    "run_deployed",
    "track_nation",
]

EVERY_S = 1.0
"""The trackers' output epoch spacing (``Tracker.run``'s default)."""


def epoch_grid(duration_s: float, every_s: float = EVERY_S) -> NDArray[np.float64]:
    """The trackers' output epochs: ``np.arange(0, duration + 1e-9, every_s)``."""
    return np.arange(0.0, duration_s + 1e-9, every_s)


def track_nation(scenario: Any, nation: str) -> tuple[Any, Any]:
    """One nation's tracker output and the detections it consumed, as the embedded run
    computes them (``run_scenario(..., track=True)``, restricted to one nation)."""
    from trilink.sensors.detection import sensors_table
    from trilink.sim.run import run_scenario
    from trilink.tracking.measurement import SensorSites
    from trilink.tracking.tracker import Tracker

    res = run_scenario(scenario, detect=True, track=False, link=False)
    assert res.detections is not None
    all_sites = SensorSites.from_table(sensors_table(res.sensors))
    if nation not in set(all_sites.nation):
        raise ValueError(f"nation {nation!r} has no sensors in {scenario.name}")
    sites = all_sites.select([nation])
    det = res.detections
    mine = det.select(np.isin(det.sensor_id, list(sites.sensor_id)))
    out = Tracker(sites).run(mine, t_end_s=scenario.spec.scenario.duration_s)
    return out, mine


class _Feed:
    """A Transport for a Hub / NationalNode whose input we deliver ourselves.

    ``subscribe`` only records the handler (messages come from a JetStream reader,
    see :meth:`dispatch`); ``publish`` goes to NATS, with a ``Nats-Msg-Id`` header
    from the envelope's signer sequence when ``dedupe_prefix`` is set.
    """

    def __init__(self, nats: NatsTransport, *, dedupe_prefix: str | None = None) -> None:
        self.nats = nats
        self.dedupe_prefix = dedupe_prefix
        self.handlers: list[tuple[str, Callable[[str, bytes], None]]] = []
        self.published: list[tuple[str, bytes]] = []
        self.record = False

    def publish(self, subject: str, data: bytes, *, sender: str) -> None:
        headers = None
        if self.dedupe_prefix is not None:
            headers = {"Nats-Msg-Id": f"{self.dedupe_prefix}.{decode_signed(data).seq}"}
        self.nats.publish(subject, data, sender=sender, headers=headers)
        if self.record:
            self.published.append((subject, data))

    def subscribe(self, pattern: str, handler: Callable[[str, bytes], None], *, subscriber: str):
        self.handlers.append((pattern, handler))
        feed = self

        class _Sub:
            def unsubscribe(self) -> None:
                with contextlib.suppress(ValueError):
                    feed.handlers.remove((pattern, handler))

        return _Sub()

    def dispatch(self, subject: str, data: bytes) -> None:
        from trilink.link.subjects import matches

        for pattern, handler in list(self.handlers):
            if matches(pattern, subject):
                handler(subject, data)

    def close(self) -> None:
        self.handlers.clear()


def _sigterm_to_exit() -> None:
    def raise_exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    with contextlib.suppress(ValueError):  # not the main thread
        signal.signal(signal.SIGTERM, raise_exit)


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, allow_nan=False))
    tmp.replace(path)


def _items(data: bytes) -> tuple[Any, list[Any]]:
    """(envelope, inner messages) of signed bytes, without verifying (bookkeeping only)."""
    env = decode_signed(data)
    msg = decode_message(env.payload)
    return env, list(msg.items) if isinstance(msg, Bundle) else [msg]


# ----------------------------------------------------------------------------------------------
# the node


@dataclass(frozen=True, kw_only=True)
class NodeOutcome:
    nation: str
    epochs: int
    reports: int
    received: int
    system_tracks_received: int
    stalls: int
    wall_s: float
    track_wall_s: float


def node_main(
    deploy_dir: str | Path,
    nation: str,
    scenario: Any,
    *,
    out: str | Path | None = None,
    window_s: float = 3.0,
    stall_s: float | None = None,
    until_s: float | None = None,
    final_wait_s: float = 300.0,
    progress: Callable[[str, float], None] | None = None,
    durable: str | None = None,
    pace_s: float | None = None,
) -> NodeOutcome:
    """One national node process (module docstring). Writes ``node_<N>.jsonl`` (every
    verified message received, in order) and ``node_<N>.json`` to ``out``. ``pace_s``:
    at least this much wall time between epochs (a replay slowed towards real time)."""
    _sigterm_to_exit()
    t_wall = time.monotonic()
    dep = LocalDeployment(deploy_dir)
    man = dep.manifest
    out_dir = Path(out) if out is not None else dep.directory / "run" / "nodes"
    out_dir.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda _stage, _t: None)
    say("tracking", 0.0)
    tracks, det = track_nation(scenario, nation)
    track_wall_s = time.monotonic() - t_wall
    duration = scenario.spec.scenario.duration_s if until_s is None else until_s
    grid = epoch_grid(duration)
    cols = tracks.columns
    t_col = np.asarray(cols["time_s"], dtype=float)
    by_epoch = rows_by_epoch(t_col)
    # the radar behind each report, as the embedded run attributes it
    from trilink.fusion.registration import report_sensors

    attributed = (
        report_sensors(np.asarray(cols["track_id"]), t_col, tracks.assignments, det)
        if tracks.assignments.size
        else None
    )
    epoch_utc = scenario.spec.scenario.epoch_utc
    now = [0.0]
    nats = NatsTransport(
        dep.client_url(nation), dep.credentials(nation), name=f"trilink-node-{nation}"
    )
    feed = _Feed(nats)
    node = NationalNode(
        nation=nation,
        transport=feed,
        signer=Signer(nation, man.signing_key(nation)),
        verifier=Verifier({man.hub: man.public_key(man.hub)}, name=nation, relays={man.hub}),
        epoch_utc=epoch_utc,
        clock=lambda: now[0],
    )
    log = (out_dir / f"node_{nation}.jsonl").open("w", encoding="utf-8")
    fused = [-math.inf]
    n_seen = [0]

    def on_release(m: ReleasedMessage) -> None:
        feed.dispatch(m.subject, m.data)
        for r in node.received[n_seen[0] :]:
            msg = r.message
            if isinstance(msg, Heartbeat) and msg.origin == man.hub:
                fused[0] = max(fused[0], msg.time_s)
            log.write(
                json.dumps(
                    {
                        "stream_seq": m.stream_seq,
                        "subject": r.subject,
                        "type": type(msg).__name__,
                        "track_number": getattr(msg, "track_number", None),
                        "seq": getattr(msg, "seq", None),
                        "time_s": getattr(msg, "time_s", None),
                    },
                    separators=(",", ":"),
                )
                + "\n"
            )
        n_seen[0] = len(node.received)

    reader = nats.release_reader(nation, durable=durable or f"{nation.lower()}-node")

    def poll(timeout_s: float) -> int:
        got = reader.fetch(max_msgs=512, timeout_s=timeout_s)
        for m in got:  # handled here, not on the transport's thread
            on_release(m)
        return len(got)

    n_reports = 0
    stalls = 0
    try:
        say("publishing", 0.0)
        t_last_say = 0.0
        t_prev = -math.inf
        for i, t_e in enumerate(grid.tolist()):
            if pace_s is not None:
                time.sleep(max(0.0, t_prev + pace_s - time.monotonic()))
                t_prev = time.monotonic()
            need = t_e - window_s
            waited = time.monotonic()
            while need >= grid[0] and fused[0] < need:
                poll(0.2)
                if stall_s is not None and time.monotonic() - waited > stall_s:
                    stalls += 1
                    break
            now[0] = t_e
            rows = by_epoch.get(t_e, np.empty(0, dtype=np.intp))
            n_reports += node.publish_epoch(t_e, cols, rows, attributed=attributed)
            if time.monotonic() - t_last_say > 0.5 or i == len(grid) - 1:
                say("publishing", t_e)
                t_last_say = time.monotonic()
        nats.flush()
        say("waiting for the hub", grid[-1])
        deadline = time.monotonic() + final_wait_s
        while fused[0] < grid[-1] and time.monotonic() < deadline:
            poll(0.5)
        while poll(0.3):  # anything still queued after the last status
            pass
    finally:
        log.close()
        with contextlib.suppress(Exception):
            reader.stop()
        node.close()
        nats.close()
    outcome = NodeOutcome(
        nation=nation,
        epochs=len(grid),
        reports=n_reports,
        received=len(node.received),
        system_tracks_received=sum(
            1 for r in node.received if type(r.message).__name__ == "SystemTrack"
        ),
        stalls=stalls,
        wall_s=time.monotonic() - t_wall,
        track_wall_s=track_wall_s,
    )
    _write_json(out_dir / f"node_{nation}.json", outcome.__dict__ | {"fused_to": fused[0]})
    say("done", grid[-1])
    return outcome


# ----------------------------------------------------------------------------------------------
# the hub


@dataclass(frozen=True, kw_only=True)
class HubOutcome:
    epochs_fused: int
    reports: int
    released: int
    input_messages: int
    global_tracks: int
    wall_s: float
    outputs: Mapping[str, str]
    alerts: int = 0


def hub_main(
    deploy_dir: str | Path,
    scenario: Any,
    out: str | Path,
    *,
    until_s: float | None = None,
    max_silence_s: float = 5.0,
    idle_timeout_s: float | None = None,
    progress: Callable[[float, float], None] | None = None,
) -> HubOutcome:
    """The hub process (module docstring): fuse until every nation has closed the last
    epoch, then write the outputs to ``out``."""
    from trilink.fusion.registration import Registration
    from trilink.sensors.detection import sensors_table
    from trilink.tables import write_table
    from trilink.tracking.measurement import SensorSites

    _sigterm_to_exit()
    t_wall = time.monotonic()
    dep = LocalDeployment(deploy_dir)
    man = dep.manifest
    policy = man.load_policy()
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    duration = scenario.spec.scenario.duration_s if until_s is None else until_s
    last_epoch = float(epoch_grid(duration)[-1])
    nations = tuple(sorted(man.nations))
    nats = NatsTransport(dep.hub_url, dep.credentials(man.hub), name="trilink-hub")
    feed = _Feed(nats, dedupe_prefix=man.hub)
    feed.record = True
    events = EventLog(out_dir / "events.jsonl")
    now = [0.0]
    signer = Signer(man.hub, man.signing_key(man.hub))
    hub = Hub(
        feed,
        policy,
        signer,
        Verifier({n: man.public_key(n) for n in nations}, name="hub"),
        Fuser(),
        nations=nations,
        epoch_utc=scenario.spec.scenario.epoch_utc,
        clock=lambda: now[0],
        sink=events,
        max_silence_s=max_silence_s,
        registration=Registration(SensorSites.from_table(sensors_table(scenario.sensors()))),
    )
    from trilink.sim.run import scenario_launch_notices
    from trilink.warning.timeline import WarningRunner

    notices = scenario_launch_notices(scenario)
    warning = WarningRunner(notices)
    warned = [0]

    def warn_new_pictures() -> None:
        """Feed the warning chain every picture fused since the last call (the pictures
        carry the reporting nation's impact columns, as ``pictures_from_link``)."""
        while warned[0] < len(hub.pictures):
            k = warned[0]
            pic = hub.pictures[k]
            imp = hub.impacts[k] if k < len(hub.impacts) else {}
            for d in warning.step(float(pic.time_s), pic.columns() | dict(imp)):
                events({"t_s": d.t_s, "event": "alert"} | d.to_json())
            warned[0] += 1

    released = (out_dir / "released.jsonl").open("w", encoding="utf-8")
    fused_to = [-math.inf]
    n_input = [0]

    def log_published() -> None:
        for subject, data in feed.published:
            env, items = _items(data)
            to = subject.split(".")[2]
            for m in items:
                released.write(
                    json.dumps(
                        {
                            "to": to,
                            "subject": subject,
                            "hub_seq": env.seq,
                            "type": type(m).__name__,
                            "track_number": getattr(m, "track_number", None),
                            "seq": getattr(m, "seq", None),
                            "time_s": getattr(m, "time_s", None),
                        },
                        separators=(",", ":"),
                    )
                    + "\n"
                )
        feed.published.clear()

    def status(t_e: float) -> None:
        beat = Heartbeat(origin=man.hub, time_s=t_e, sent_time_s=now[0])
        for n in nations:
            d = policy.release_decision(beat, n)
            if d.allowed and d.message is not None:
                feed.publish(
                    f"tl.release.{n}.status",
                    signer.sign(d.message, sent_time_s=now[0]),
                    sender=man.hub,
                )

    def on_input(m: ReleasedMessage) -> None:
        n_input[0] += 1
        with contextlib.suppress(Exception):
            now[0] = max(now[0], decode_signed(m.data).sent_time_s)
        before = len(hub.pictures)
        feed.dispatch(m.subject, m.data)
        if len(hub.pictures) > before:
            fused_to[0] = hub.pictures[-1].time_s
            status(fused_to[0])
            warn_new_pictures()
        log_published()

    # a fresh consumer per process: a restarted hub replays the input from the start
    reader = nats.release_reader(
        man.hub,
        durable=f"hub-input-{uuid.uuid4().hex[:12]}",
        stream=INPUT_STREAM,
        subject=">",
        inactive_threshold_s=60.0,
        max_ack_pending=20000,
    )
    last_input = time.monotonic()
    t_say = 0.0
    try:
        while fused_to[0] < last_epoch:
            got = reader.fetch(max_msgs=1024, timeout_s=0.5)
            for m in got:  # on this thread: the hub publishes while handling
                on_input(m)
            if got:
                last_input = time.monotonic()
            elif idle_timeout_s is not None and time.monotonic() - last_input > idle_timeout_s:
                raise TimeoutError(
                    f"hub: no input for {idle_timeout_s} s (fused to {fused_to[0]} of {last_epoch})"
                )
            if progress is not None and time.monotonic() - t_say > 0.5:
                progress(fused_to[0], last_epoch)
                t_say = time.monotonic()
        hub.flush()
        log_published()
        nats.flush()
        warn_new_pictures()
    finally:
        released.close()
        events.close()
        with contextlib.suppress(Exception):
            nats._run(reader.reader.js.delete_consumer(INPUT_STREAM, reader.reader.durable))
        with contextlib.suppress(Exception):
            reader.stop()
        hub.close()
        nats.close()
    result = LinkResult(
        pictures=tuple(hub.pictures),
        impacts=tuple(hub.impacts),
        received={},
        hub=hub.stats,
        hub_verifier=hub.verifier.stats,
        events=dict(events.counts),
    )
    outputs = {"events": str(events.path), "released": str(out_dir / "released.jsonl")}
    # "time after launch" in the printed timeline only (decisions do not use it): the
    # scenario's first launch, as the embedded run
    from trilink.scenario.build import scenario_launches

    launch_t = min(la.t_launch_s for la in scenario_launches(scenario))
    written = warning.timeline(launch_time_s=launch_t, label="linked through the hub").write(
        out_dir, epoch_utc=scenario.spec.scenario.epoch_utc
    )
    outputs["alerts"] = str(written[-1])
    fused_table = result.system_tracks_table()
    if fused_table:
        outputs["system tracks"] = str(
            write_table(out_dir / "system_tracks.csv", fused_table, tuple(fused_table))
        )
    gtn = fused_table.get("global_track_number")
    outcome = HubOutcome(
        epochs_fused=hub.stats.epochs_fused,
        reports=hub.stats.reports,
        released=hub.stats.system_tracks_released,
        input_messages=n_input[0],
        global_tracks=len(set(gtn.tolist())) if gtn is not None else 0,
        wall_s=time.monotonic() - t_wall,
        outputs=outputs,
        alerts=len(warning.decisions),
    )
    _write_json(
        out_dir / "hub_summary.json",
        {
            **{k: v for k, v in outcome.__dict__.items() if k != "outputs"},
            "outputs": dict(outputs),
            "late_reports": hub.stats.late_reports,
            "dropped": hub.stats.dropped,
            "verifier": hub.verifier.stats.__dict__
            if hasattr(hub.verifier.stats, "__dict__")
            else {},
        },
    )
    if progress is not None:
        progress(fused_to[0], last_epoch)
    return outcome


# ----------------------------------------------------------------------------------------------
# the whole run: servers, hub and nodes as processes


def _module_cmd() -> list[str]:
    return [sys.executable, "-m", "trilink.cli.deploy_cmds"]


def hub_cmd(deploy_dir: Path, scenario: str, out: Path, *extra: str) -> list[str]:
    return [
        *_module_cmd(),
        "hub",
        "--deploy",
        str(deploy_dir),
        "--scenario",
        scenario,
        "--out",
        str(out),
        *extra,
    ]


def node_cmd(deploy_dir: Path, nation: str, scenario: str, out: Path, *extra: str) -> list[str]:
    return [
        *_module_cmd(),
        "node",
        "--nation",
        nation,
        "--deploy",
        str(deploy_dir),
        "--scenario",
        scenario,
        "--out",
        str(out),
        *extra,
    ]


def read_progress(out: Path) -> dict[str, Any]:
    """The hub's and nodes' progress files (``progress_*.json``) in ``out``."""
    got: dict[str, Any] = {}
    for f in Path(out).glob("progress_*.json"):
        with contextlib.suppress(ValueError, OSError):
            got[f.stem.removeprefix("progress_")] = json.loads(f.read_text())
    return got


def progress_writer(out: Path, name: str) -> Callable[..., None]:
    path = Path(out) / f"progress_{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(*args: Any) -> None:
        _write_json(
            path,
            {
                "args": [a if not isinstance(a, float) or math.isfinite(a) else None for a in args],
                "at": time.time(),
            },
        )

    return write


def run_deployed(
    scenario: str,
    out: str | Path,
    *,
    deploy_dir: str | Path | None = None,
    node_args: Sequence[str] = (),
    hub_args: Sequence[str] = (),
    timeout_s: float = 1800.0,
    on_tick: Callable[[LocalDeployment, dict[str, Any]], None] | None = None,
    keep_up: bool = False,
) -> dict[str, Any]:
    """``trilink run --transport nats``: init a deployment (``OUT/deploy`` by default),
    bring it up, run the hub and one node per nation as processes, wait, stop everything
    (also on failure or Ctrl-C). ``on_tick(deployment, progress)`` is called about
    every 0.2 s (progress bars; tests inject faults there). Returns a summary."""
    from trilink.link.deploy import init_deployment

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    d = Path(deploy_dir).resolve() if deploy_dir is not None else out / "deploy"
    init_deployment(d, force=True)
    dep = LocalDeployment(d)
    t0 = time.monotonic()
    for f in out.glob("progress_*.json"):
        f.unlink()
    try:
        dep.up()
        t_up = time.monotonic() - t0
        man = dep.manifest
        logs = d / "run" / "logs"
        procs = {
            "hub": dep.spawn(
                hub_cmd(d, scenario, out, *hub_args), logs / "hub-process.log", name="hub"
            )
        }
        for n in man.nations:
            procs[n] = dep.spawn(
                node_cmd(d, n, scenario, out, *node_args),
                logs / f"node-{n}.log",
                name=f"node-{n}",
            )
        deadline = time.monotonic() + timeout_s
        while True:
            codes = {k: dep.returncode(e) for k, e in procs.items()}
            if on_tick is not None:
                on_tick(dep, read_progress(out))
            failed = {k: c for k, c in codes.items() if c not in (None, 0)}
            if failed:
                tails = {
                    k: Path(procs[k]["log"]).read_text(errors="replace")[-3000:] for k in failed
                }
                raise RuntimeError(
                    "deployed run failed: "
                    + "; ".join(f"{k} exited with {c}" for k, c in failed.items())
                    + "\n"
                    + "\n".join(f"--- {k} log:\n{t}" for k, t in tails.items())
                )
            if all(c == 0 for c in codes.values()):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"deployed run not finished after {timeout_s} s")
            time.sleep(0.2)
        wall = time.monotonic() - t0
    finally:
        if not keep_up:
            dep.down()
    summary = json.loads((out / "hub_summary.json").read_text())
    nodes = {
        n: json.loads((out / f"node_{n}.json").read_text())
        for n in man.nations
        if (out / f"node_{n}.json").exists()
    }
    return {
        "wall_s": wall,
        "up_s": t_up,
        "hub": summary,
        "nodes": nodes,
        "deploy_dir": str(d),
        "out": str(out),
        "pid": os.getpid(),
    }
