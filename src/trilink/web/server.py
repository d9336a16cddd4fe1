"""The live picture's web server: the built page, and one WebSocket playback per page.

Routes: ``/ws`` (the picture stream), ``/api/info`` (the view and run, JSON),
``/picture.czml`` (the whole run as this view may see it, the CZML export of
:mod:`trilink.export.czml`, which the page loads as a layer), and the built page
(``web/dist``: ``index.html``, ``app.js``, ``style.css`` and CesiumJS under ``cesium/``)
for everything else.

Each WebSocket connection is its own playback session. The server sends, as JSON
text messages:

- ``hello``: run, view, time span, speed, what the policy withheld from this view;
- ``sensors``: the sites (and coverage fans) this view may see;
- ``frame`` (about 10 a second): the picture at scenario time ``t_s``: fused tracks,
  national tracks by nation, truth, alerts issued since the previous frame and the
  outlines of the regions they name; ``wall_ms`` is when the server sent it;
- ``reset`` (after a seek), ``end`` (the run's end), ``error`` (a control message
  the server could not use; the session goes on).

The page sends control messages ``{"type": "control", "action": "play" | "pause" |
"speed" | "seek", "value": number}``. Anything else gets an ``error`` reply; a
malformed message never ends the session or the server.

Pacing: the session clock advances ``speed`` scenario seconds per wall second
(checked every 0.1 s), so the page follows the run at ×speed however slowly it
renders. ``speed = "max"`` sends one frame per sample time of the run as fast as
the socket takes them (tests and benchmarks read a whole stream that way).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from trilink.web.picture import Picture, encode

__all__ = [
    "MAX_SPEED",
    "TICK_S",
    "WebDistError",
    "create_app",
    "find_dist",
    "serve",
]

TICK_S: Final = 0.1
"""Wall seconds between frames at a paced speed."""
MAX_SPEED: Final = 100_000.0
MAX_CONTROL_CHARS: Final = 4096
WS_MAX_BYTES: Final = 64 * 1024
"""Largest message the server accepts from a page (bigger: the connection is closed)."""


class WebDistError(RuntimeError):
    """The built page is missing."""


def find_dist(explicit: str | Path | None = None) -> Path:
    """The built page: ``explicit``, else ``$TRILINK_WEB_DIST``, else
    ``<project root>/web/dist``. Raises :class:`WebDistError` (one line) if missing."""
    if explicit is not None:
        dist = Path(explicit)
    elif os.environ.get("TRILINK_WEB_DIST"):
        dist = Path(os.environ["TRILINK_WEB_DIST"])
    else:
        dist = Path(__file__).resolve().parents[3] / "web" / "dist"
    for need in ("index.html", "app.js", "cesium/Cesium.js"):
        if not (dist / need).is_file():
            raise WebDistError(
                f"the web page is not built ({dist / need} missing): run `make web` "
                "(or set TRILINK_WEB_DIST to a built web/dist)"
            )
    return dist


def parse_speed(value: str | float) -> float:
    """``"max"`` -> inf; else a number in (0, MAX_SPEED]. ValueError names the problem."""
    if isinstance(value, str) and value.strip().lower() == "max":
        return math.inf
    try:
        s = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a number or 'max'") from None
    if not (math.isfinite(s) and 0.0 < s <= MAX_SPEED):
        raise ValueError(f"{value!r} must be > 0 and <= {MAX_SPEED:g} (or 'max')")
    return s


class ControlError(ValueError):
    """A control message the session cannot use."""


def parse_control(text: str) -> tuple[str, float | None]:
    """``(action, value)`` of a control message; :class:`ControlError` otherwise."""
    if len(text) > MAX_CONTROL_CHARS:
        raise ControlError(f"message of {len(text)} characters (at most {MAX_CONTROL_CHARS})")
    try:
        msg = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ControlError(f"not JSON ({getattr(exc, 'msg', 'too deeply nested')})") from None
    if not isinstance(msg, dict):
        raise ControlError("must be a JSON object")
    if msg.get("type") != "control":
        raise ControlError(f"field 'type': {msg.get('type')!r} is not 'control'")
    action = msg.get("action")
    if action in ("play", "pause"):
        return str(action), None
    if action not in ("speed", "seek"):
        raise ControlError(f"field 'action': {action!r} is not play, pause, speed or seek")
    value = msg.get("value")
    if action == "speed":
        try:
            return "speed", parse_speed(value)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ControlError(f"field 'value': {exc}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ControlError(f"field 'value': {value!r} is not a finite number of seconds")
    return "seek", float(value)


@dataclass
class _Session:
    t_s: float
    speed: float
    paused: bool = False
    sent_t_s: float = -math.inf
    reset: bool = False
    ended: bool = False
    frames: int = 0


def create_app(
    picture: Picture,
    dist: Path,
    *,
    speed: float = 1.0,
    mode: str = "replay",
    source: str = "",
    czml: Callable[[], str] | None = None,
) -> Starlette:
    """The Starlette app serving ``picture`` and the page in ``dist``; ``czml`` makes the
    CZML document of the same view (built on the first request, then kept)."""
    sample_times = np.unique(
        np.concatenate(
            [
                picture.system.times_s,
                *(layer.times_s for layer in picture.national.values()),
                picture.truth.times_s if picture.truth is not None else np.empty(0),
                np.asarray([a["t_s"] for a in picture.alerts], dtype=float),
                np.asarray([picture.t_end_s]),
            ]
        )
    )
    info = picture.hello() | {"mode": mode, "source": source, "speed": _speed_json(speed)}
    sensors_text = encode({"type": "sensors", "sites": list(picture.sensors)})

    async def api_info(_request: Request) -> JSONResponse:
        return JSONResponse(info)

    czml_text: list[str] = []

    async def picture_czml(_request: Request) -> Response:
        if czml is None:
            return Response("no CZML for this picture", status_code=404)
        if not czml_text:
            czml_text.append(await asyncio.to_thread(czml))
        return Response(czml_text[0], media_type="application/json")

    async def ws_endpoint(ws: WebSocket) -> None:
        await ws.accept()
        session = _Session(t_s=picture.t_start_s, speed=speed)
        lock = asyncio.Lock()
        wake = asyncio.Event()

        async def send(message: dict[str, Any] | str) -> None:
            text = message if isinstance(message, str) else encode(message)
            async with lock:
                await ws.send_text(text)

        async def player() -> None:
            loop = asyncio.get_running_loop()
            last = loop.time()
            while True:
                if session.reset:
                    session.reset = False
                    session.ended = False
                    session.sent_t_s = -math.inf
                    await send({"type": "reset", "t_s": session.t_s})
                if math.isinf(session.speed) and not session.paused and not session.ended:
                    # every sample time, as fast as the socket takes them
                    k = int(np.searchsorted(sample_times, session.t_s, side="left"))
                    if k < len(sample_times):
                        session.t_s = float(sample_times[k])
                    else:
                        session.t_s = picture.t_end_s
                    await _send_frame()
                    if session.t_s >= picture.t_end_s:
                        await _send_end()
                    else:
                        session.t_s = float(np.nextafter(session.t_s, math.inf))
                    last = loop.time()
                    await asyncio.sleep(0)
                    continue
                wake.clear()
                try:
                    await asyncio.wait_for(wake.wait(), TICK_S)
                except TimeoutError:
                    pass
                now = loop.time()
                dt, last = now - last, now
                if not session.paused and not math.isinf(session.speed):
                    session.t_s = min(session.t_s + dt * session.speed, picture.t_end_s)
                if session.t_s != session.sent_t_s:
                    await _send_frame()
                if session.t_s >= picture.t_end_s and not session.ended:
                    await _send_end()

        async def _send_frame() -> None:
            f = picture.frame(session.t_s, session.sent_t_s)
            session.frames += 1
            f |= {
                "seq": session.frames,
                "wall_ms": time.time() * 1e3,
                "speed": _speed_json(session.speed),
                "paused": session.paused,
            }
            session.sent_t_s = session.t_s
            await send(f)

        async def _send_end() -> None:
            session.ended = True
            await send({"type": "end", "t_s": session.t_s, "frames": session.frames})

        await send(info | {"speed": _speed_json(session.speed)})
        await send(sensors_text)
        task = asyncio.create_task(player())
        try:
            while True:
                receive = asyncio.create_task(ws.receive())
                done, _ = await asyncio.wait({receive, task}, return_when=asyncio.FIRST_COMPLETED)
                if task in done:
                    receive.cancel()
                    task.result()  # a send that failed: the page went away
                    return
                msg = receive.result()
                if msg["type"] == "websocket.disconnect":
                    return
                text = msg.get("text")
                if text is None:
                    await send({"type": "error", "message": "binary messages are not understood"})
                    continue
                try:
                    action, value = parse_control(text)
                except ControlError as exc:
                    await send({"type": "error", "message": str(exc)})
                    continue
                if action == "play":
                    session.paused = False
                elif action == "pause":
                    session.paused = True
                elif action == "speed":
                    assert value is not None
                    session.speed = value
                elif action == "seek":
                    assert value is not None
                    session.t_s = min(max(value, picture.t_start_s), picture.t_end_s)
                    session.reset = True
                wake.set()
        except (WebSocketDisconnect, OSError, RuntimeError):
            return  # the page closed or the connection broke (uvicorn's ClientDisconnected
            # is an OSError): this session ends, the server goes on
        finally:
            task.cancel()
            if ws.application_state == WebSocketState.CONNECTED:
                try:
                    await ws.close()
                except (WebSocketDisconnect, RuntimeError, OSError):
                    pass

    return Starlette(
        routes=[
            WebSocketRoute("/ws", ws_endpoint),
            Route("/api/info", api_info),
            Route("/picture.czml", picture_czml),
            Mount("/", StaticFiles(directory=dist, html=True)),
        ]
    )


def _speed_json(speed: float) -> float | str:
    return "max" if math.isinf(speed) else speed


def serve(
    app: Starlette,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run ``app`` with uvicorn on ``host:port`` (0: a free port) until interrupted;
    ``on_ready(url)`` is called once the socket listens."""
    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        ws_max_size=WS_MAX_BYTES,
        access_log=False,
    )
    server = uvicorn.Server(config)
    if on_ready is not None:
        on_ready(f"http://{shown}:{bound}/")
    server.run(sockets=[sock])
