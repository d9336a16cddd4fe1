"""A trilink deployment on disk: files for three sites, and a local bring-up of it.

``trilink deploy init DIR`` (:func:`init_deployment`) writes, from a sharing policy
(the topology comes from ``Policy.accounts()`` via
:func:`~trilink.link.natsconf.topology_from_accounts`):

* ``DIR/deployment.toml``: the manifest (hosts, ports, which file is what);
* ``DIR/policy.toml``: the policy every process of the deployment uses;
* ``DIR/pki/``: the local CA (``ca.crt``, ``ca.key``), one server certificate per
  nats-server (``hub``, ``jp``, ``kr``; SAN = the site's host name, ``localhost`` and
  127.0.0.1) and one client certificate per broker user
  (``<account>-<user>.crt/.key``, subject ``CN=<user>,OU=<account>,O=trilink``);
* ``DIR/keys/``: the ed25519 message-signing key of every participant
  (``HUB.key`` ... mode 0600) and its public key (``HUB.pub`` ...);
* ``DIR/conf/``: the site configurations ``hub.conf``, ``jp.conf``, ``kr.conf``
  (standard ports 4222 / 7422 / 8222; the leaf servers dial
  ``tls://<host-hub>:7422``).

``trilink deploy up DIR`` (:class:`LocalDeployment`) runs the same deployment on
127.0.0.1 with free ports: the hub and leaf nats-servers (configurations regenerated
into ``DIR/run/conf``), one TCP relay process per leaf link standing in for the
wide-area link (so the link can be cut: SIGUSR1 cuts, SIGUSR2 restores, see
:func:`proxy_main`), and the JetStream streams: ``RELEASE_<N>`` in each partner's
account (everything released to N, read by N's node through a durable consumer) and
``HUB_INPUT`` in the hub's account, capturing every national report, heartbeat and
notice, from which a (re)started hub process rebuilds its state. Ports, process ids
and start times go to ``DIR/state.json``; ``deploy down`` stops exactly those
processes (a pid is signalled only while its start time still matches), ``deploy
status`` reports them.

Real three-site deployment
--------------------------
Run ``trilink deploy init DIR --host-hub nats.hub.example --host-jp nats.jp.example
--host-kr nats.kr.example`` on the certificate authority's (offline) machine, then copy
to each host only what it needs (the configurations name files by their path under
``DIR``: keep that path on the host or edit it):

* **Hawaii (hub, INDOPACOM)**: ``conf/hub.conf``; ``pki/ca.crt``, ``pki/hub.crt``,
  ``pki/hub.key``; the hub fusion process's ``pki/hub-hub-fusion.*`` and
  ``keys/HUB.key``; the hub operators' ``pki/*-hub-ops.*``; ``keys/JP.pub``,
  ``keys/KR.pub``, ``keys/US.pub``; ``policy.toml``; ``deployment.toml``. Open
  inbound: 7422 (leafnode port) from the Tokyo and Seoul servers only; 4222 (client
  port) from the hub's fusion host and the US node; 8222 (monitoring) to operators
  only. The JetStream store (``store_dir``) must be on persistent storage: the
  release and input streams survive a restart of the server.
* **Tokyo (JP)** and **Seoul (KR)**: ``conf/jp.conf`` (``kr.conf``); ``pki/ca.crt``,
  ``pki/jp.crt/.key`` (the site's server certificate), ``pki/jp-jp-leaf.*`` (the leaf
  connection's client certificate), the C2 host's ``pki/jp-jp-c2.*`` and
  ``keys/JP.key``; ``keys/HUB.pub``; ``policy.toml``; ``deployment.toml``. Open
  inbound: 4222 from the nation's own C2 hosts only. Outbound: TCP to the hub's 7422.
  Nothing is opened between Tokyo and Seoul: no configuration links them.
* **US node**: ``pki/ca.crt``, ``pki/us-us-c2.*``, ``keys/US.key``, ``keys/HUB.pub``;
  it connects directly to the hub's 4222.
* ``pki/ca.key`` never leaves the CA machine; every ``.key`` stays on the host that uses
  it. A real deployment may replace the local CA with an organisational PKI as long as
  client subjects follow :func:`trilink.link.pki.subject_dn`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trilink.link import pki
from trilink.link.natsconf import (
    HubServer,
    LeafServer,
    StreamSpec,
    Topology,
    User,
    UserKind,
    hub_config,
    jetstream_client_permissions,
    leaf_config,
    topology_from_accounts,
)
from trilink.link.pki import TlsFiles
from trilink.link.policy import Policy
from trilink.link.servers import (
    LOCALHOST,
    LinkProxy,
    NatsServerProcess,
    ServerStartError,
    free_ports,
    nats_server_binary,
    run_sync,
)
from trilink.link.signing import KeyPair, load_public_key, save_public_key

__all__ = [
    "INPUT_STREAM",
    "MANIFEST",
    "STATE",
    "DeployError",
    "LocalDeployment",
    "Manifest",
    "deployment_topology",
    "init_deployment",
    "proxy_main",
]

MANIFEST = "deployment.toml"
STATE = "state.json"
INPUT_STREAM = "HUB_INPUT"
"""The hub's stream of every national report, heartbeat and notice (replay on restart)."""
DEFAULT_PORTS = {"client": 4222, "leafnode": 7422, "monitor": 8222}
LEAF_NATIONS = ("JP", "KR")


class DeployError(RuntimeError):
    """A deployment directory that cannot be used as asked (the text says why)."""


# ----------------------------------------------------------------------------------------------
# topology


def deployment_topology(
    policy: Policy,
    *,
    leaf_nations: Sequence[str] = LEAF_NATIONS,
    hub: HubServer | None = None,
    leaves: Sequence[LeafServer] | None = None,
    input_max_age_s: float = 24 * 3600.0,
) -> Topology:
    """The policy's topology plus the hub's input stream.

    The hub's account gets JetStream, the stream :data:`INPUT_STREAM` capturing every
    subject it imports from the partners, a ``hub-ops`` user to create it, and read
    access to it for the ``hub-fusion`` user.
    """
    topo = topology_from_accounts(
        policy.accounts(), leaf_accounts=leaf_nations, hub=hub, leaves=leaves
    )
    accounts = []
    for acc in topo.accounts:
        if acc.name != policy.hub:
            accounts.append(acc)
            continue
        subjects = tuple(i.subject for i in acc.imports)
        read = jetstream_client_permissions(acc.name, stream=INPUT_STREAM)
        users = tuple(
            dataclasses.replace(u, permissions=u.permissions.union(read))
            if u.kind is UserKind.CLIENT and u.permissions is not None
            else u
            for u in acc.users
        )
        ops = next(
            u for a in topo.accounts for u in a.users if u.kind is UserKind.OPS
        )  # the same ops permissions as the partners' hub-ops users
        users = (*users, User(name="hub-ops", kind=UserKind.OPS, permissions=ops.permissions))
        stream = StreamSpec(name=INPUT_STREAM, subjects=subjects, max_age_s=input_max_age_s)
        accounts.append(dataclasses.replace(acc, users=users, jetstream=True, streams=(stream,)))
    return dataclasses.replace(topo, accounts=tuple(accounts))


# ----------------------------------------------------------------------------------------------
# the manifest


@dataclass(frozen=True, kw_only=True)
class Manifest:
    """``deployment.toml``: what the deployment is and where its files are (relative paths)."""

    directory: Path
    hub: str
    nations: tuple[str, ...]
    leaf_nations: tuple[str, ...]
    hosts: Mapping[str, str]
    """Site host name per server name (``hub``, ``jp``, ``kr``)."""
    policy: str = "policy.toml"

    def path(self, rel: str | Path) -> Path:
        return self.directory / rel

    def load_policy(self) -> Policy:
        return Policy.load(self.path(self.policy))

    def topology(self, **kw: Any) -> Topology:
        return deployment_topology(self.load_policy(), leaf_nations=self.leaf_nations, **kw)

    def user_tls(self, account: str, user: str) -> TlsFiles:
        d = self.path("pki")
        stem = f"{account.lower()}-{user}"
        return TlsFiles(
            cert_path=d / f"{stem}.crt", key_path=d / f"{stem}.key", ca_path=d / "ca.crt"
        )

    def server_tls(self, server: str) -> TlsFiles:
        d = self.path("pki")
        return TlsFiles(
            cert_path=d / f"{server}.crt", key_path=d / f"{server}.key", ca_path=d / "ca.crt"
        )

    def signing_key(self, participant: str) -> KeyPair:
        return KeyPair.load(self.path("keys") / f"{participant}.key")

    def public_key(self, participant: str) -> Any:
        return load_public_key(self.path("keys") / f"{participant}.pub")

    @classmethod
    def load(cls, directory: str | Path) -> Manifest:
        d = Path(directory).resolve()
        f = d / MANIFEST
        if not f.is_file():
            raise DeployError(f"{f}: no deployment here (run `trilink deploy init {d}` first)")
        try:
            doc = tomllib.loads(f.read_text())
            return cls(
                directory=d,
                hub=str(doc["hub"]),
                nations=tuple(doc["nations"]),
                leaf_nations=tuple(doc["leaf_nations"]),
                hosts={k: str(v["host"]) for k, v in doc["servers"].items()},
                policy=str(doc.get("policy", "policy.toml")),
            )
        except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
            raise DeployError(f"{f}: not a trilink deployment manifest: {exc}") from None


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str | Path):
        return json.dumps(str(v))
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml(doc: Mapping[str, Any], prefix: str = "") -> str:
    """A small TOML writer: scalars, lists, tables and arrays of tables."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in doc.items() if not isinstance(v, Mapping | list)]
    lines += [
        f"{k} = {_toml_value(v)}"
        for k, v in doc.items()
        if isinstance(v, list) and not any(isinstance(x, Mapping) for x in v)
    ]
    out = "\n".join(lines) + ("\n" if lines else "")
    for k, v in doc.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping):
            if any(not isinstance(x, Mapping) for x in v.values()) or not v:
                out += f"\n[{name}]\n" + _toml(
                    {a: b for a, b in v.items() if not isinstance(b, Mapping)}
                )
            sub = {a: b for a, b in v.items() if isinstance(b, Mapping)}
            if sub:
                out += _toml(sub, prefix=f"{name}.")
        elif isinstance(v, list) and any(isinstance(x, Mapping) for x in v):
            for item in v:
                out += f"\n[[{name}]]\n" + _toml(item)
    return out


# ----------------------------------------------------------------------------------------------
# init


def _site_topology(
    policy: Policy, hosts: Mapping[str, str], leaf_nations: Sequence[str]
) -> Topology:
    """The topology of the real three-site deployment (standard ports, site host names)."""
    hub_host = hosts["hub"]
    hub = HubServer(
        host="0.0.0.0",
        client_port=DEFAULT_PORTS["client"],
        leafnode_port=DEFAULT_PORTS["leafnode"],
        monitor_port=DEFAULT_PORTS["monitor"],
        store_dir=Path("/var/lib/trilink/jetstream-hub"),
        hostnames=(hub_host,),
    )
    leaves = [
        LeafServer(
            name=n.lower(),
            account=n,
            host="0.0.0.0",
            client_port=DEFAULT_PORTS["client"],
            monitor_port=DEFAULT_PORTS["monitor"],
            hub_urls=(f"tls://{hub_host}:{DEFAULT_PORTS['leafnode']}",),
        )
        for n in leaf_nations
    ]
    return deployment_topology(policy, leaf_nations=leaf_nations, hub=hub, leaves=leaves)


def init_deployment(
    directory: str | Path,
    *,
    policy_path: str | Path | None = None,
    hosts: Mapping[str, str] | None = None,
    force: bool = False,
) -> Manifest:
    """Write every file of a deployment into ``directory`` (module docstring).

    Refuses (``DeployError``) if ``directory`` already holds a deployment, unless
    ``force``; ``force`` also refuses while the deployment is up.
    """
    d = Path(directory).resolve()
    if (d / MANIFEST).exists():
        if not force:
            raise DeployError(
                f"{d}: already holds a deployment ({MANIFEST}); use --force to overwrite it"
            )
        if LocalDeployment(d).running():
            raise DeployError(f"{d}: the deployment is up; run `trilink deploy down {d}` first")
        for sub in ("pki", "keys", "conf", "run"):
            shutil.rmtree(d / sub, ignore_errors=True)
        (d / STATE).unlink(missing_ok=True)
    if policy_path is not None:
        text = Path(policy_path).read_text()
        policy = Policy.loads(text, source=str(policy_path))
    else:
        policy = Policy.default()
        text = None
    partners = tuple(p for p in policy.participants if p != policy.hub)
    leaf_nations = tuple(n for n in LEAF_NATIONS if n in partners)
    hosts = dict(hosts or {})
    site_hosts = {"hub": hosts.get("hub") or "localhost"}
    for n in leaf_nations:
        site_hosts[n.lower()] = hosts.get(n.lower()) or hosts.get(n) or "localhost"
    d.mkdir(parents=True, exist_ok=True)
    policy_file = d / "policy.toml"
    if text is not None:
        policy_file.write_text(text)
    else:
        src = Path(__file__).with_name("default_policy.toml")
        shutil.copyfile(src, policy_file)
    topo = _site_topology(policy, site_hosts, leaf_nations)
    pdir = d / "pki"
    ca = pki.create_ca(pdir)
    server_tls = {"hub": pki.issue_server_cert(ca, pdir, "hub", hostnames=(site_hosts["hub"],))}
    for leaf in topo.leaves:
        server_tls[leaf.name] = pki.issue_server_cert(
            ca, pdir, leaf.name, hostnames=(site_hosts[leaf.name],)
        )
    users: list[dict[str, Any]] = []
    for acc in topo.accounts:
        for u in acc.users:
            tls = pki.issue_client_cert(ca, pdir, u.name, account=acc.name)
            users.append(
                {
                    "account": acc.name,
                    "name": u.name,
                    "kind": u.kind.value,
                    "subject": pki.subject_dn(u.name, acc.name),
                    "cert": str(tls.cert_path.relative_to(d)),
                    "key": str(tls.key_path.relative_to(d)),
                }
            )
    kdir = d / "keys"
    kdir.mkdir(exist_ok=True)
    signing: dict[str, Any] = {}
    for p in (policy.hub, *partners):
        kp = KeyPair.generate()
        kp.save(kdir / f"{p}.key")
        save_public_key(kp.public_key, kdir / f"{p}.pub")
        signing[p] = {"key": f"keys/{p}.key", "public": f"keys/{p}.pub", "key_id": kp.key_id}
    cdir = d / "conf"
    cdir.mkdir(exist_ok=True)
    (cdir / "hub.conf").write_text(hub_config(topo, tls=server_tls["hub"]))
    servers: dict[str, Any] = {
        "hub": {
            "host": site_hosts["hub"],
            "client_port": DEFAULT_PORTS["client"],
            "leafnode_port": DEFAULT_PORTS["leafnode"],
            "monitor_port": DEFAULT_PORTS["monitor"],
            "config": "conf/hub.conf",
            "cert": "pki/hub.crt",
            "key": "pki/hub.key",
            "jetstream_domain": topo.hub.domain,
        }
    }
    for leaf in topo.leaves:
        leaf_user = topo.account(leaf.account).users_of(UserKind.LEAF)[0]
        (cdir / f"{leaf.name}.conf").write_text(
            leaf_config(
                topo,
                leaf.name,
                server_tls=server_tls[leaf.name],
                leaf_tls=pki.TlsFiles(
                    cert_path=pdir / f"{leaf.account.lower()}-{leaf_user.name}.crt",
                    key_path=pdir / f"{leaf.account.lower()}-{leaf_user.name}.key",
                    ca_path=ca.cert_path,
                ),
            )
        )
        servers[leaf.name] = {
            "account": leaf.account,
            "host": site_hosts[leaf.name],
            "client_port": DEFAULT_PORTS["client"],
            "monitor_port": DEFAULT_PORTS["monitor"],
            "hub_url": leaf.hub_urls[0],
            "config": f"conf/{leaf.name}.conf",
            "cert": f"pki/{leaf.name}.crt",
            "key": f"pki/{leaf.name}.key",
        }
    streams = [
        {"account": a.name, "name": s.name, "subjects": list(s.subjects)}
        for a in topo.accounts
        for s in a.streams
    ]
    doc: dict[str, Any] = {
        "format": 1,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "policy": "policy.toml",
        "hub": policy.hub,
        "nations": list(partners),
        "leaf_nations": list(leaf_nations),
        "ca": {"cert": "pki/ca.crt", "key": "pki/ca.key"},
        "servers": servers,
        "signing": signing,
        "users": users,
        "streams": streams,
    }
    header = (
        "# trilink deployment manifest, written by `trilink deploy init`.\n"
        "# Paths are relative to this file. Site ports are the defaults of the real\n"
        "# deployment; `trilink deploy up` runs it on 127.0.0.1 with free ports (state.json).\n"
    )
    (d / MANIFEST).write_text(header + _toml(doc))
    return Manifest.load(d)


# ----------------------------------------------------------------------------------------------
# processes


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (to tell it from a later process with the same id)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(entry: Mapping[str, Any]) -> bool:
    pid = int(entry["pid"])
    st = _start_time(pid)
    if st is None or st != entry.get("start_time"):
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _reap(pid: int) -> None:
    """Collect the exit status of ``pid`` if it is our child (no zombie left behind)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _stop_pid(entry: Mapping[str, Any], *, timeout_s: float = 10.0, kill: bool = False) -> None:
    """SIGTERM (or SIGKILL) a recorded process if it is still the one recorded; wait."""
    try:
        _stop_pid_alive(entry, timeout_s=timeout_s, kill=kill)
    finally:
        _reap(int(entry["pid"]))


def _stop_pid_alive(entry: Mapping[str, Any], *, timeout_s: float, kill: bool) -> None:
    if not _alive(entry):
        return
    pid = int(entry["pid"])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)  # reap if it is our child
        if not _alive(entry):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        if not _alive(entry):
            return
        time.sleep(0.05)


def _wait_port(port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((LOCALHOST, port), 0.5):
            return
        time.sleep(0.05)
    raise DeployError(f"nothing listens on {LOCALHOST}:{port} after {timeout_s} s")


class LocalDeployment:
    """A deployment directory brought up on 127.0.0.1 (``deploy up/down/status``).

    Servers, link relays and the hub/node processes run detached (their own session),
    so they outlive the command that started them; every one is recorded in
    ``state.json`` with its start time and stopped by :meth:`down`.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).resolve()
        self._lock = threading.Lock()

    # -- state ---------------------------------------------------------------------------------
    @property
    def manifest(self) -> Manifest:
        return Manifest.load(self.directory)

    @property
    def state_path(self) -> Path:
        return self.directory / STATE

    def state(self) -> dict[str, Any]:
        try:
            return json.loads(self.state_path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError as exc:
            raise DeployError(f"{self.state_path}: unreadable ({exc})") from None

    def _write_state(self, state: Mapping[str, Any]) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        tmp.replace(self.state_path)

    def _entries(self, state: Mapping[str, Any] | None = None) -> list[tuple[str, dict[str, Any]]]:
        s = self.state() if state is None else state
        out = []
        for group in ("processes", "leaves", "proxies", "hub"):
            items = s.get(group) or {}
            if group == "hub" and items:
                out.append(("hub", items))
                continue
            out += [(f"{group}:{k}", v) for k, v in items.items()]
        return out

    def running(self) -> bool:
        return any(_alive(e) for _, e in self._entries())

    # -- up / down -----------------------------------------------------------------------------
    def up(self, *, ready_timeout_s: float = 30.0) -> dict[str, Any]:
        """Start the hub, the link relays and the leaf servers; provision the streams."""
        man = self.manifest
        if self.running():
            raise DeployError(f"{self.directory}: already up (see `trilink deploy status`)")
        run = self.directory / "run"
        shutil.rmtree(run, ignore_errors=True)
        for sub in ("conf", "logs", "jetstream"):
            (run / sub).mkdir(parents=True, exist_ok=True)
        n_leaf = len(man.leaf_nations)
        ports = free_ports(3 + 3 * n_leaf)
        hub = HubServer(
            host=LOCALHOST,
            client_port=ports[0],
            leafnode_port=ports[1],
            monitor_port=ports[2],
            store_dir=run / "jetstream" / "hub",
            hostnames=(man.hosts.get("hub", "localhost"),),
        )
        leaves = [
            LeafServer(
                name=n.lower(),
                account=n,
                client_port=ports[3 + 3 * i],
                monitor_port=ports[4 + 3 * i],
                hub_urls=(f"tls://{LOCALHOST}:{ports[5 + 3 * i]}",),
            )
            for i, n in enumerate(man.leaf_nations)
        ]
        topo = man.topology(hub=hub, leaves=leaves)
        state: dict[str, Any] = {
            "directory": str(self.directory),
            "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "hub_url": f"tls://{LOCALHOST}:{hub.client_port}",
            "ports": {
                "hub": {
                    "client": hub.client_port,
                    "leafnode": hub.leafnode_port,
                    "monitor": hub.monitor_port,
                },
                **{
                    leaf.account: {
                        "client": leaf.client_port,
                        "monitor": leaf.monitor_port,
                        "link_relay": int(leaf.hub_urls[0].rsplit(":", 1)[1]),
                    }
                    for leaf in leaves
                },
            },
            "hub": {},
            "leaves": {},
            "proxies": {},
            "processes": {},
        }
        binary = nats_server_binary()
        try:
            conf = run / "conf" / "hub.conf"
            conf.write_text(hub_config(topo, tls=man.server_tls("hub")))
            proc = NatsServerProcess(
                "hub",
                conf,
                run / "logs" / "hub.log",
                client_port=hub.client_port,
                monitor_port=int(hub.monitor_port or 0),
                binary=binary,
            )
            proc.start(timeout_s=ready_timeout_s)
            state["hub"] = self._entry(proc.pid, [str(binary), "-c", str(conf)])
            self._write_state(state)
            self._provision(topo, state["hub_url"])
            for leaf in leaves:
                relay_port = state["ports"][leaf.account]["link_relay"]
                cmd = [
                    sys.executable,
                    "-m",
                    "trilink.link.deploy",
                    "proxy",
                    str(relay_port),
                    str(hub.leafnode_port),
                    leaf.name,
                ]
                state["proxies"][leaf.account] = self.spawn(
                    cmd, run / "logs" / f"link-{leaf.name}.log", record=False
                )
                self._write_state(state)
                _wait_port(relay_port)
                conf = run / "conf" / f"{leaf.name}.conf"
                leaf_user = topo.account(leaf.account).users_of(UserKind.LEAF)[0].name
                conf.write_text(
                    leaf_config(
                        topo,
                        leaf.name,
                        server_tls=man.server_tls(leaf.name),
                        leaf_tls=man.user_tls(leaf.account, leaf_user),
                    )
                )
                lp = NatsServerProcess(
                    leaf.name,
                    conf,
                    run / "logs" / f"{leaf.name}.log",
                    client_port=leaf.client_port,
                    monitor_port=int(leaf.monitor_port or 0),
                    binary=binary,
                )
                lp.start(timeout_s=ready_timeout_s)
                state["leaves"][leaf.account] = self._entry(lp.pid, [str(binary), "-c", str(conf)])
                self._write_state(state)
            self.wait_for_leaves(list(man.leaf_nations), timeout_s=ready_timeout_s)
        except BaseException:
            self.down()
            raise
        return state

    def _provision(self, topo: Topology, hub_url: str) -> None:
        from trilink.link.nats_transport import ensure_streams

        man = self.manifest
        for acc in topo.accounts:
            if acc.streams:
                creds = man.user_tls(acc.name, acc.users_of(UserKind.OPS)[0].name)
                run_sync(ensure_streams(hub_url, creds, acc.streams))

    @staticmethod
    def _entry(pid: int | None, cmd: Sequence[str]) -> dict[str, Any]:
        assert pid is not None
        return {"pid": pid, "start_time": _start_time(pid), "cmd": list(cmd)}

    def spawn(
        self,
        cmd: Sequence[str],
        log_path: Path,
        *,
        name: str | None = None,
        record: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Start a detached process (own session, output to ``log_path``); record it
        under ``processes.<name>`` in the state unless ``record=False``."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            p = subprocess.Popen(
                list(cmd),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, **(env or {})},
            )
        entry = self._entry(p.pid, cmd) | {"log": str(log_path)}
        self._popen[p.pid] = p
        if record:
            with self._lock:
                state = self.state()
                state.setdefault("processes", {})[name or str(p.pid)] = entry
                self._write_state(state)
        return entry

    _popen: dict[int, subprocess.Popen[bytes]] = {}  # noqa: RUF012 - reaping children only

    def returncode(self, entry: Mapping[str, Any]) -> int | None:
        """Exit code of a process this object spawned (None while it runs or if unknown)."""
        p = self._popen.get(int(entry["pid"]))
        return None if p is None else p.poll()

    def stop_process(self, name: str, *, kill: bool = False) -> None:
        entry = (self.state().get("processes") or {}).get(name)
        if entry is not None:
            _stop_pid(entry, kill=kill)
            p = self._popen.pop(int(entry["pid"]), None)
            if p is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(5.0)

    def down(self) -> list[str]:
        """Stop every process recorded in ``state.json`` (processes, leaves, relays, hub)."""
        stopped = []
        state = self.state()
        for name, entry in self._entries(state):
            if _alive(entry):
                _stop_pid(entry)
                stopped.append(name)
            p = self._popen.pop(int(entry["pid"]), None)
            if p is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(5.0)
        if state:
            state["stopped_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
            for group in ("processes", "leaves", "proxies"):
                state[group] = {}
            state["hub"] = {}
            self._write_state(state)
        return stopped

    def status(self) -> list[dict[str, Any]]:
        """One row per recorded process: name, pid, running, command."""
        return [
            {"name": n, "pid": e["pid"], "running": _alive(e), "cmd": " ".join(e["cmd"])}
            for n, e in self._entries()
        ]

    # -- clients -------------------------------------------------------------------------------
    @property
    def hub_url(self) -> str:
        url = self.state().get("hub_url")
        if not url:
            raise DeployError(f"{self.directory}: not up (run `trilink deploy up` first)")
        return str(url)

    def client_url(self, account: str) -> str:
        """The server ``account``'s clients connect to: its leaf server, else the hub."""
        ports = self.state().get("ports", {})
        if account in ports and "client" in ports[account] and account != "hub":
            return f"tls://{LOCALHOST}:{ports[account]['client']}"
        return self.hub_url

    def credentials(self, account: str, *, kind: UserKind = UserKind.CLIENT) -> TlsFiles:
        man = self.manifest
        topo = man.topology()
        users = topo.account(account).users_of(kind)
        if not users:
            raise DeployError(f"account {account} has no user of kind {kind.value!r}")
        return man.user_tls(account, users[0].name)

    # -- monitoring and faults -----------------------------------------------------------------
    def monitor(self, endpoint: str) -> Any:
        port = self.state()["ports"]["hub"]["monitor"]
        import urllib.request

        with urllib.request.urlopen(f"http://{LOCALHOST}:{port}/{endpoint}", timeout=2.0) as r:
            return json.loads(r.read().decode())

    def connected_leaf_accounts(self) -> list[str]:
        try:
            return [x.get("account", "") for x in self.monitor("leafz").get("leafs") or []]
        except (OSError, ValueError, KeyError):
            return []

    def wait_for_leaves(self, accounts: Sequence[str], *, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            have = self.connected_leaf_accounts()
            if all(a in have for a in accounts):
                return
            time.sleep(0.05)
        raise ServerStartError(
            f"leaf links {list(accounts)} not up after {timeout_s} s "
            f"(hub has {self.connected_leaf_accounts()})"
        )

    def _signal_relay(self, nation: str, sig: int) -> None:
        entry = (self.state().get("proxies") or {}).get(nation)
        if entry is None or not _alive(entry):
            raise DeployError(f"no running link relay for {nation}")
        os.kill(int(entry["pid"]), sig)

    def cut_link(self, nation: str, *, wait: bool = True, timeout_s: float = 15.0) -> None:
        """Sever ``nation``'s leaf link (both servers keep running)."""
        self._signal_relay(nation, signal.SIGUSR1)
        deadline = time.monotonic() + timeout_s
        while wait and nation in self.connected_leaf_accounts():
            if time.monotonic() > deadline:
                raise DeployError(f"leaf link of {nation} still up after {timeout_s} s")
            time.sleep(0.05)

    def restore_link(self, nation: str, *, wait: bool = True, timeout_s: float = 30.0) -> None:
        self._signal_relay(nation, signal.SIGUSR2)
        if wait:
            self.wait_for_leaves([nation], timeout_s=timeout_s)


# ----------------------------------------------------------------------------------------------
# the link relay process


class _FixedPortProxy(LinkProxy):
    def __init__(self, port: int, target_port: int, *, name: str) -> None:
        super().__init__(target_port, name=name)
        self._listen_port = port

    async def _listen(self) -> None:
        import asyncio

        self._server = await asyncio.start_server(self._on_client, LOCALHOST, self._listen_port)
        self.port = self._server.sockets[0].getsockname()[1]


def proxy_main(port: int, target_port: int, name: str) -> None:
    """Relay 127.0.0.1:``port`` to the hub's leafnode port until SIGTERM.

    SIGUSR1 cuts the link (connections aborted, new ones refused), SIGUSR2 restores it.
    """
    proxy = _FixedPortProxy(port, target_port, name=name)
    proxy.start()
    stop = threading.Event()
    actions: list[str] = []

    def on_signal(signum: int, _frame: object) -> None:
        actions.append({signal.SIGUSR1: "cut", signal.SIGUSR2: "restore"}.get(signum, "stop"))

    for s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGINT):
        signal.signal(s, on_signal)
    print(f"link relay {name}: 127.0.0.1:{port} -> 127.0.0.1:{target_port}", flush=True)
    while not stop.is_set():
        while actions:
            a = actions.pop(0)
            print(f"link relay {name}: {a} at {time.time():.3f}", flush=True)
            if a == "cut":
                proxy.cut()
            elif a == "restore":
                proxy.restore()
            else:
                stop.set()
        time.sleep(0.02)
    proxy.stop()


if __name__ == "__main__":  # python -m trilink.link.deploy proxy PORT TARGET_PORT NAME
    if len(sys.argv) == 5 and sys.argv[1] == "proxy":
        proxy_main(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        sys.exit("usage: python -m trilink.link.deploy proxy PORT TARGET_PORT NAME")
