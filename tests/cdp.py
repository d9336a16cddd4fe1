"""Headless Debian ``chromium`` driven over the Chrome DevTools Protocol, for browser tests.

A fresh profile per browser, every host name resolving to nothing and every proxied
request sent to a closed port on loopback (pages on 127.0.0.1 are reached directly:
Chromium never proxies loopback), and a minimal RFC 6455 client (the ``websockets``
package is not needed for this). :func:`summarize` sorts the collected events into
console errors, warnings, requests and failed loads.

Used by ``tests/test_report.py`` (the campaign report) and ``tests/test_web.py`` and
``benchmarks/bench_web.py`` (the live picture, with WebGL on SwiftShader).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--no-default-browser-check",
    # no network: every name resolves to nothing, every proxied request (IP literals
    # included) goes to a closed port on loopback
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--window-size=1280,2000",
    "--remote-debugging-port=0",
)
"""The report test's flags (no GPU, no WebGL needed)."""

WEBGL_FLAGS: tuple[str, ...] = (
    *(
        f
        for f in CHROMIUM_FLAGS
        if f not in ("--disable-gpu", "--window-size=1280,2000")
        and not f.startswith("--host-resolver-rules")
    ),
    # the page's server on 127.0.0.1 is the one address that resolves
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--window-size=1280,800",
)
"""WebGL in software (ANGLE on SwiftShader), for CesiumJS; the same isolation except
that 127.0.0.1 (the page's own server) is reachable."""

_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def chromium_path() -> str:
    """Debian's chromium; skips the test (fails under ``CI``) when it is missing."""
    import pytest

    exe = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if exe is None:
        msg = (
            "Debian 'chromium' is not installed: run `make browser` (as root: "
            "apt-get install -y --no-install-recommends chromium); the browser tests need it"
        )
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return exe


class DevTools:
    """A minimal Chrome DevTools Protocol client over one RFC 6455 WebSocket."""

    def __init__(self, ws_url: str, timeout_s: float = 30.0) -> None:
        u = urllib.parse.urlsplit(ws_url)
        self.timeout_s = timeout_s
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout_s)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            buf += chunk
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
        if b" 101 " not in head.split(b"\r\n")[0] or accept.encode() not in head:
            raise ConnectionError(f"WebSocket handshake refused: {head[:200]!r}")
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        self.sock.close()

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 1 << 16:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        arr = np.frombuffer(payload, dtype=np.uint8)
        masked = (arr ^ np.resize(np.frombuffer(mask, dtype=np.uint8), n)).tobytes()
        self.sock.sendall(head + mask + masked)

    def _recv_message(self) -> dict[str, Any]:
        parts: list[bytes] = []
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack("!H", self._read(2))
            elif n == 127:
                (n,) = struct.unpack("!Q", self._read(8))
            mask = self._read(4) if b1 & 0x80 else None
            data = self._read(n)
            if mask:
                data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
            if opcode == 0x9:  # ping
                self._send_frame(0xA, data)
                continue
            if opcode == 0x8:
                raise ConnectionError("DevTools sent close")
            if opcode in (0x1, 0x2, 0x0):
                parts.append(data)
                if b0 & 0x80:
                    return json.loads(b"".join(parts))

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        mid = self.next_id
        self._send_frame(0x1, json.dumps({"id": mid, "method": method, "params": params}).encode())
        while True:
            msg = self._recv_message()
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def pump(self, seconds: float, until: Callable[[dict[str, Any]], bool] | None = None) -> bool:
        """Collect events for up to ``seconds``; True if ``until`` matched one."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                msg = self._recv_message()
            except TimeoutError:
                return False
            finally:
                self.sock.settimeout(self.timeout_s)
            if "method" in msg:
                self.events.append(msg)
                if until is not None and until(msg):
                    return True
        return False

    def evaluate(self, expression: str, *, await_promise: bool = False) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        res = self.call(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            awaitPromise=await_promise,
        )
        if "exceptionDetails" in res:
            raise RuntimeError(f"evaluate({expression[:80]!r}): {res['exceptionDetails']}")
        return res["result"].get("value")

    def wait_for(self, expression: str, timeout_s: float, poll_s: float = 0.25) -> Any:
        """Poll ``expression`` until it is truthy (collecting events meanwhile); its value,
        or None after ``timeout_s``."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            v = self.evaluate(expression)
            if v:
                return v
            self.pump(poll_s)
        return None

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        shot = self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


class Chromium:
    """One headless chromium with a fresh profile; ``page`` is a :class:`DevTools` on
    its first tab with Runtime, Log, Network and Page enabled."""

    def __init__(
        self,
        profile: Path,
        flags: Sequence[str] = CHROMIUM_FLAGS,
        *,
        width: int = 1280,
        height: int = 2000,
    ) -> None:
        self.profile = profile
        self.flags = tuple(flags)
        self.width, self.height = width, height
        self.proc: subprocess.Popen[bytes] | None = None
        self.page: DevTools | None = None

    def __enter__(self) -> DevTools:
        exe = chromium_path()
        shutil.rmtree(self.profile, ignore_errors=True)  # no stale DevToolsActivePort
        self.profile.mkdir(parents=True)
        self._log = (self.profile / "chromium-stderr.log").open("wb")
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        self.proc = subprocess.Popen(
            [exe, *self.flags, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            start_new_session=True,
            env=env,
        )
        try:
            port_file = self.profile / "DevToolsActivePort"
            deadline = time.monotonic() + 60.0
            while not (port_file.is_file() and port_file.read_text().strip()):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "chromium did not start its DevTools endpoint: "
                        + (self.profile / "chromium-stderr.log").read_text(errors="replace")[-2000:]
                    )
                time.sleep(0.05)
            port = int(port_file.read_text().split()[0])
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            targets = json.loads(
                opener.open(f"http://127.0.0.1:{port}/json/list", timeout=10).read()
            )
            page = next(t for t in targets if t.get("type") == "page")
            self.page = DevTools(page["webSocketDebuggerUrl"])
            for domain in ("Runtime", "Log", "Network", "Page"):
                self.page.call(f"{domain}.enable")
            self.page.call(
                "Emulation.setDeviceMetricsOverride",
                width=self.width,
                height=self.height,
                deviceScaleFactor=1,
                mobile=False,
            )
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self.page

    def __exit__(self, *exc: object) -> None:
        if self.page is not None:
            try:
                self.page.call("Browser.close")
            except (ConnectionError, OSError, RuntimeError):
                pass
            self.page.close()
        if self.proc is not None:
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the group this harness started
                self.proc.wait(timeout=15)
        self._log.close()


def summarize(events: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """Console errors (console.error/assert, uncaught exceptions, error log entries),
    warnings, requested URLs and failed loads among DevTools events."""
    errors, warnings, requests, failed = [], [], [], []
    for ev in events:
        m, p = ev["method"], ev.get("params", {})
        if m == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
            if p["type"] in ("error", "assert"):
                errors.append(f"console.{p['type']}: {text}")
            elif p["type"] == "warning":
                warnings.append(f"console.warning: {text}")
        elif m == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            errors.append(f"exception: {d.get('exception', {}).get('description', d['text'])}")
        elif m == "Log.entryAdded":
            e = p["entry"]
            if e["level"] == "error":
                errors.append(f"log[{e['source']}]: {e['text']} {e.get('url', '')}")
            elif e["level"] == "warning":
                warnings.append(f"log[{e['source']}]: {e['text']}")
        elif m == "Network.requestWillBeSent":
            requests.append(p["request"]["url"])
        elif m == "Network.loadingFailed":
            failed.append(p.get("errorText", ""))
    return {"errors": errors, "warnings": warnings, "requests": requests, "failed": failed}
