"""nats-server configuration for a trilink deployment, generated from a topology.

A :class:`Topology` says, without any transport detail, who may say what to
whom: the broker **accounts** (one per party: ``HUB``, ``JP``, ``KR``, ``US``),
their **users** (one per certificate), the **streams** each account exports and
to which accounts, what each account imports, which accounts keep JetStream
streams on the hub, and which **servers** run where. :func:`hub_config` and
:func:`leaf_config` turn it into nats-server configuration text;
:func:`topology_from_accounts` builds a topology from
``trilink.link.policy.Policy.accounts()`` and :func:`default_topology` is the
reference layout (the two agree for the default policy; the policy's is
narrower: exact report subjects instead of ``tl.<N>.>``).

Isolation is enforced by the broker, in three independent layers:

1. **Accounts.** Each account is its own subject space on the hub. A message
   published in ``JP`` reaches ``HUB`` only because ``JP`` exports the stream
   ``tl.JP.>`` to ``HUB`` alone and ``HUB`` imports it; ``KR`` has no import from
   ``JP`` and cannot get one, whatever it subscribes to. The hub relays to a
   nation only what it publishes on ``tl.release.<N>.>``, exported to ``N`` only.
2. **Leaf connections bound to one account.** A national server is a *leaf
   node* of the hub. Its connection is mutual TLS; the hub maps the leaf's
   client certificate (``verify_and_map``) to the user ``CN=<n>-leaf,OU=<N>,O=trilink``
   of account ``N``, with connection type ``LEAFNODE`` only and publish /
   subscribe permissions. So even a national server whose own configuration
   has been stripped of every user and permission can inject only
   ``tl.<N>.>`` (and its own JetStream API calls) and receive only
   ``tl.release.<N>.>``: the hub decides, not the leaf.
3. **User permissions** on every client connection (national servers and hub):
   a Japanese C2 user may publish only ``tl.JP.>`` and subscribe only
   ``tl.release.JP.>`` and ``_INBOX.>``, plus the JetStream API calls on its own
   release stream.

Subjects (fixed; other modules depend on them): national reports
``tl.<N>.tracks|notices|heartbeat|status``; hub releases to a nation
``tl.release.<N>.system_tracks|notices|alerts|registration|status``; hub
internal ``tl.hub.>``.

Replay after a cut: the hub runs JetStream with ``domain: hub``. Each nation's
account on the hub holds a file-backed stream ``RELEASE_<N>`` capturing the
imported ``tl.release.<N>.>``; while a leaf link is down the stream keeps
recording, and the national client, connected to its own leaf server, reads it
with a durable pull consumer through the hub's domain
(``nc.jetstream(domain="hub")``: the API subject ``$JS.hub.API.>`` crosses the
leaf connection and the hub maps it to its own ``$JS.API.>``; without a domain,
JetStream API traffic is not forwarded across leaf connections and clients get
"no responders"). The streams are created by a per-account ``hub-ops`` user that
can connect only at the hub.

Mapping to a real three-site deployment
---------------------------------------
* **Hawaii (hub, INDOPACOM).** One nats-server from :func:`hub_config`, with
  ``HubServer.host = "0.0.0.0"`` (or the site's address) and its DNS name in
  ``HubServer.hostnames`` (it goes into the server certificate's SAN).
  Open inbound: the leafnode port (default 7422) to Tokyo's and Seoul's
  servers' addresses only; the client port (4222) to the hub's own fusion
  hosts and to the US node; the monitoring port (8222) to the hub's operators
  only. Files on the host: ``ca.crt``; ``hub.crt``/``hub.key`` (server);
  the ``hub-fusion`` client certificate on the fusion host; the ``us-c2``
  certificate on the US node; the ``hub-ops`` certificates with the hub's
  operators. The JetStream ``store_dir`` must be on persistent storage: the
  release streams survive a restart of the hub.
* **Tokyo (JP) and Seoul (KR).** One nats-server each from :func:`leaf_config`.
  Inbound: only the client port, from the nation's own C2 hosts. Outbound:
  TCP to the hub's leafnode port (``LeafServer.hub_urls``, e.g.
  ``tls://nats.hub.example:7422``). No port is opened between Tokyo and Seoul:
  there is no configuration in which the two servers connect. Files:
  ``ca.crt``; the site's server certificate (``jp.crt``/``jp.key``, SAN = the
  site's host name) for its own clients; the leaf client certificate
  (``jp-jp-leaf.crt``/``.key``, subject ``CN=jp-leaf,OU=JP,O=trilink``) used to
  dial the hub; the C2 users' certificates (``jp-jp-c2``) on the C2 hosts.
* **Keys.** Every ``.key`` file is mode 0600 and stays on the host that uses it;
  only ``ca.crt`` is shared. The CA key stays offline with whoever issues
  certificates (in practice an organisational PKI; the subjects must follow
  :func:`trilink.link.pki.subject_dn`).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trilink.link.pki import TlsFiles, subject_dn

__all__ = [
    "HUB_ACCOUNT",
    "HUB_DOMAIN",
    "NATIONS",
    "Account",
    "HubServer",
    "LeafServer",
    "Permissions",
    "StreamExport",
    "StreamImport",
    "StreamSpec",
    "Topology",
    "TopologyError",
    "User",
    "UserKind",
    "default_topology",
    "hub_config",
    "jetstream_client_permissions",
    "leaf_config",
    "nation_client_permissions",
    "release_stream_name",
    "topology_from_accounts",
]

HUB_ACCOUNT = "HUB"
HUB_DOMAIN = "hub"
NATIONS: tuple[str, ...] = ("JP", "KR", "US")
RELEASE_KINDS: tuple[str, ...] = ("system_tracks", "notices", "alerts", "registration", "status")
REPORT_KINDS: tuple[str, ...] = ("tracks", "notices", "heartbeat", "status")

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_SUBJECT_TOKEN_RE = re.compile(r"^[^\s.]+$")


class TopologyError(ValueError):
    """A topology that cannot be turned into a consistent deployment."""


class UserKind(enum.StrEnum):
    """Where a user's certificate is presented, and so which server knows the user."""

    CLIENT = "client"
    """A process of the account; connects to the account's home server (its leaf, else the hub)."""
    LEAF = "leaf"
    """The account's leaf server dialling the hub; accepted on the hub's leafnode port only."""
    OPS = "ops"
    """An operator of the account's JetStream assets; accepted on the hub's client port only."""


@dataclass(frozen=True, kw_only=True)
class Permissions:
    """Subjects a user may publish to and subscribe to (allow lists; all else is denied)."""

    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for what, subjects in (("publish", self.publish), ("subscribe", self.subscribe)):
            if isinstance(subjects, str):
                raise TopologyError(f"Permissions.{what}: expected a tuple of subjects, got a str")
            for s in subjects:
                _check_subject(f"Permissions.{what}", s)

    def union(self, other: Permissions) -> Permissions:
        """Both allow lists merged, order kept, duplicates dropped."""
        return Permissions(
            publish=tuple(dict.fromkeys((*self.publish, *other.publish))),
            subscribe=tuple(dict.fromkeys((*self.subscribe, *other.subscribe))),
        )


@dataclass(frozen=True, kw_only=True)
class User:
    """One certificate identity; its user name on the server is ``subject_dn(name, account)``.

    ``permissions=None`` means unrestricted within the account (avoid it).
    """

    name: str
    kind: UserKind = UserKind.CLIENT
    permissions: Permissions | None = None

    def __post_init__(self) -> None:
        _check_name("User.name", self.name)


@dataclass(frozen=True, kw_only=True)
class StreamExport:
    """A subject space the account publishes into and lets the listed accounts import."""

    subject: str
    to: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_subject("StreamExport.subject", self.subject)
        if isinstance(self.to, str) or not self.to:
            raise TopologyError(
                f"StreamExport({self.subject}).to: expected a non-empty tuple of account names "
                "(public exports are not allowed)"
            )


@dataclass(frozen=True, kw_only=True)
class StreamImport:
    """Messages on ``subject`` published in ``from_account`` delivered into this account."""

    subject: str
    from_account: str

    def __post_init__(self) -> None:
        _check_subject("StreamImport.subject", self.subject)
        _check_name("StreamImport.from_account", self.from_account)


@dataclass(frozen=True, kw_only=True)
class StreamSpec:
    """A JetStream stream the hub keeps in an account (file storage; created by ``hub-ops``)."""

    name: str
    subjects: tuple[str, ...]
    max_age_s: float = 24 * 3600.0
    max_bytes: int = -1
    max_msgs: int = -1
    duplicate_window_s: float = 120.0

    def __post_init__(self) -> None:
        _check_name("StreamSpec.name", self.name)
        if isinstance(self.subjects, str) or not self.subjects:
            raise TopologyError(f"StreamSpec({self.name}).subjects: expected a non-empty tuple")
        for s in self.subjects:
            _check_subject(f"StreamSpec({self.name}).subjects", s)
        if not self.max_age_s > 0:
            raise TopologyError(f"StreamSpec({self.name}).max_age_s={self.max_age_s}: must be > 0")


@dataclass(frozen=True, kw_only=True)
class Account:
    """A broker account: its users, what it exports and imports, its JetStream use."""

    name: str
    users: tuple[User, ...] = ()
    exports: tuple[StreamExport, ...] = ()
    imports: tuple[StreamImport, ...] = ()
    jetstream: bool = False
    streams: tuple[StreamSpec, ...] = ()

    def __post_init__(self) -> None:
        _check_name("Account.name", self.name)
        if self.name.startswith("$"):
            raise TopologyError(f"Account.name={self.name!r}: names starting with $ are reserved")
        if self.streams and not self.jetstream:
            raise TopologyError(f"Account {self.name}: has streams but jetstream=False")
        names = [u.name for u in self.users]
        if len(set(names)) != len(names):
            raise TopologyError(f"Account {self.name}: duplicate user names in {names}")

    def users_of(self, kind: UserKind) -> tuple[User, ...]:
        return tuple(u for u in self.users if u.kind is kind)


@dataclass(frozen=True, kw_only=True)
class HubServer:
    """The hub's nats-server: clients, leaf nodes, JetStream (with a domain)."""

    name: str = "hub"
    host: str = "127.0.0.1"
    client_port: int = 4222
    leafnode_port: int = 7422
    monitor_port: int | None = 8222
    domain: str = HUB_DOMAIN
    store_dir: Path = Path("jetstream-hub")
    hostnames: tuple[str, ...] = ()
    max_file_store_bytes: int = 1 << 30
    max_memory_store_bytes: int = 64 << 20

    def __post_init__(self) -> None:
        _check_name("HubServer.name", self.name)
        _check_name("HubServer.domain", self.domain)


@dataclass(frozen=True, kw_only=True)
class LeafServer:
    """A national server: serves its nation's clients, dials the hub's leafnode port only.

    ``hub_urls`` empty means ``tls://<hub.host>:<hub.leafnode_port>``.
    ``jetstream_domain`` ``None`` keeps JetStream off locally (the default).
    """

    name: str
    account: str
    host: str = "127.0.0.1"
    client_port: int = 4222
    monitor_port: int | None = 8222
    hub_urls: tuple[str, ...] = ()
    jetstream_domain: str | None = None
    store_dir: Path | None = None
    reconnect_s: int = 1

    def __post_init__(self) -> None:
        _check_name("LeafServer.name", self.name)
        _check_name("LeafServer.account", self.account)
        if self.jetstream_domain is not None:
            _check_name("LeafServer.jetstream_domain", self.jetstream_domain)
            if self.store_dir is None:
                raise TopologyError(f"LeafServer {self.name}: jetstream_domain needs a store_dir")
        if self.reconnect_s < 1:
            raise TopologyError(f"LeafServer {self.name}: reconnect_s={self.reconnect_s} < 1")


@dataclass(frozen=True, kw_only=True)
class Topology:
    """Accounts plus the servers that carry them: one hub, national leaf servers."""

    accounts: tuple[Account, ...]
    hub: HubServer = field(default_factory=HubServer)
    leaves: tuple[LeafServer, ...] = ()

    def __post_init__(self) -> None:
        names = [a.name for a in self.accounts]
        if len(set(names)) != len(names):
            raise TopologyError(f"Topology: duplicate account names in {names}")
        by_name = {a.name: a for a in self.accounts}
        for a in self.accounts:
            for e in a.exports:
                for to in e.to:
                    if to not in by_name:
                        raise TopologyError(
                            f"Account {a.name}: export {e.subject} to unknown account {to!r}"
                        )
            for imp in a.imports:
                src = by_name.get(imp.from_account)
                if src is None:
                    raise TopologyError(
                        f"Account {a.name}: import {imp.subject} from unknown account "
                        f"{imp.from_account!r}"
                    )
                if not any(
                    a.name in e.to and _subject_covers(e.subject, imp.subject) for e in src.exports
                ):
                    raise TopologyError(
                        f"Account {a.name}: imports {imp.subject} from {src.name}, which does "
                        f"not export it to {a.name}"
                    )
        leaf_names = [leaf.name for leaf in self.leaves]
        if len(set(leaf_names)) != len(leaf_names) or self.hub.name in leaf_names:
            raise TopologyError(f"Topology: server names must be unique, got {leaf_names}")
        leaf_accounts = [leaf.account for leaf in self.leaves]
        if len(set(leaf_accounts)) != len(leaf_accounts):
            raise TopologyError(f"Topology: one leaf server per account, got {leaf_accounts}")
        for leaf in self.leaves:
            acc = by_name.get(leaf.account)
            if acc is None:
                raise TopologyError(f"LeafServer {leaf.name}: unknown account {leaf.account!r}")
            if not acc.users_of(UserKind.LEAF):
                raise TopologyError(
                    f"LeafServer {leaf.name}: account {leaf.account} has no user of kind 'leaf' "
                    "for the leaf connection"
                )
            if leaf.jetstream_domain == self.hub.domain:
                raise TopologyError(
                    f"LeafServer {leaf.name}: jetstream_domain must differ from the hub's "
                    f"{self.hub.domain!r}"
                )

    def account(self, name: str) -> Account:
        for a in self.accounts:
            if a.name == name:
                return a
        raise KeyError(f"no account {name!r}; have {[a.name for a in self.accounts]}")

    def leaf(self, account: str) -> LeafServer:
        for leaf in self.leaves:
            if leaf.account == account:
                return leaf
        raise KeyError(f"no leaf server for account {account!r}")

    def home_server(self, account: str) -> str:
        """Name of the server the account's CLIENT users connect to (its leaf, else the hub)."""
        for leaf in self.leaves:
            if leaf.account == account:
                return leaf.name
        return self.hub.name


# ----------------------------------------------------------------------------------------------
# The reference layout


def release_stream_name(nation: str) -> str:
    """Name of the hub stream that records everything released to ``nation``."""
    return f"RELEASE_{nation}"


def nation_client_permissions(nation: str, *, domain: str = HUB_DOMAIN) -> Permissions:
    """What a national C2 client (and its leaf connection) may do.

    Publish its own reports ``tl.<N>.>``; subscribe to its releases and inboxes;
    use the hub's JetStream API (through ``domain``) on its own release stream
    only: stream info, message get, create / read / delete consumers, acks.
    """
    jetstream = jetstream_client_permissions(nation, domain=domain)
    return Permissions(
        publish=(f"tl.{nation}.>", *jetstream.publish),
        subscribe=(f"tl.release.{nation}.>", *jetstream.subscribe),
    )


def jetstream_client_permissions(
    nation: str, *, domain: str = HUB_DOMAIN, stream: str | None = None
) -> Permissions:
    """The JetStream API calls a nation's client needs on its own release stream, and inboxes.

    ``stream`` names another stream to read instead (e.g. the hub's input stream).
    """
    stream = stream or release_stream_name(nation)
    # A client on a leaf server is checked against the domain form ($JS.hub.API...),
    # which crosses the leaf connection; a client directly on the hub is checked
    # after the hub has mapped it to $JS.API... (nats-server 2.15.1): allow both.
    api_calls = (
        "INFO",
        f"STREAM.INFO.{stream}",
        f"STREAM.MSG.GET.{stream}",
        f"CONSUMER.CREATE.{stream}.>",
        f"CONSUMER.DURABLE.CREATE.{stream}.>",
        f"CONSUMER.INFO.{stream}.>",
        f"CONSUMER.DELETE.{stream}.>",
        f"CONSUMER.MSG.NEXT.{stream}.>",
    )
    return Permissions(
        publish=(
            *(f"$JS.{domain}.API.{call}" for call in api_calls),
            *(f"$JS.API.{call}" for call in api_calls),
            f"$JS.ACK.{stream}.>",
        ),
        subscribe=("_INBOX.>",),
    )


def _ops_permissions(domain: str) -> Permissions:
    return Permissions(publish=("$JS.API.>", f"$JS.{domain}.API.>"), subscribe=("_INBOX.>",))


def default_topology(
    *,
    hub_host: str = "127.0.0.1",
    hub_client_port: int = 4222,
    hub_leafnode_port: int = 7422,
    hub_monitor_port: int | None = 8222,
    leaf_client_ports: Mapping[str, int] | None = None,
    leaf_monitor_ports: Mapping[str, int | None] | None = None,
    store_dir: Path = Path("jetstream-hub"),
    release_max_age_s: float = 24 * 3600.0,
) -> Topology:
    """The trilink layout: accounts HUB, JP, KR, US; hub server; JP and KR leaf servers.

    * ``JP`` exports ``tl.JP.>`` to ``HUB`` only and imports ``tl.release.JP.>``
      from ``HUB`` only; likewise ``KR`` and ``US``. ``HUB`` imports every
      nation's reports and exports ``tl.release.<N>.>`` to ``N`` only.
    * Users: ``hub-fusion`` (HUB); per nation ``<n>-c2`` (client), ``hub-ops``
      (JetStream operator at the hub) and, for JP and KR, ``<n>-leaf`` (the leaf
      connection). US connects directly to the hub.
    * JetStream on the hub (domain ``hub``): stream ``RELEASE_<N>`` in each
      nation's account capturing ``tl.release.<N>.>``.
    """
    leaf_nations = ("JP", "KR")
    client_ports = {"JP": 4222, "KR": 4222, **(leaf_client_ports or {})}
    monitor_ports: dict[str, int | None] = {"JP": 8222, "KR": 8222, **(leaf_monitor_ports or {})}
    hub_perms = Permissions(
        publish=("tl.release.>", "tl.hub.>"),
        subscribe=(*(f"tl.{n}.>" for n in NATIONS), "tl.hub.>", "_INBOX.>"),
    )
    accounts = [
        Account(
            name=HUB_ACCOUNT,
            users=(User(name="hub-fusion", permissions=hub_perms),),
            exports=tuple(StreamExport(subject=f"tl.release.{n}.>", to=(n,)) for n in NATIONS),
            imports=tuple(StreamImport(subject=f"tl.{n}.>", from_account=n) for n in NATIONS),
        )
    ]
    for n in NATIONS:
        perms = nation_client_permissions(n)
        users = [User(name=f"{n.lower()}-c2", permissions=perms)]
        if n in leaf_nations:
            users.append(User(name=f"{n.lower()}-leaf", kind=UserKind.LEAF, permissions=perms))
        users.append(User(name="hub-ops", kind=UserKind.OPS, permissions=_ops_permissions("hub")))
        accounts.append(
            Account(
                name=n,
                users=tuple(users),
                exports=(StreamExport(subject=f"tl.{n}.>", to=(HUB_ACCOUNT,)),),
                imports=(StreamImport(subject=f"tl.release.{n}.>", from_account=HUB_ACCOUNT),),
                jetstream=True,
                streams=(
                    StreamSpec(
                        name=release_stream_name(n),
                        subjects=(f"tl.release.{n}.>",),
                        max_age_s=release_max_age_s,
                    ),
                ),
            )
        )
    hub = HubServer(
        host=hub_host,
        client_port=hub_client_port,
        leafnode_port=hub_leafnode_port,
        monitor_port=hub_monitor_port,
        store_dir=store_dir,
    )
    leaves = tuple(
        LeafServer(
            name=n.lower(),
            account=n,
            client_port=client_ports[n],
            monitor_port=monitor_ports[n],
        )
        for n in leaf_nations
    )
    return Topology(accounts=tuple(accounts), hub=hub, leaves=leaves)


def topology_from_accounts(
    specs: Mapping[str, Any] | Iterable[Any],
    *,
    leaf_accounts: Iterable[str] = ("JP", "KR"),
    hub: HubServer | None = None,
    leaves: Sequence[LeafServer] | None = None,
    release_max_age_s: float = 24 * 3600.0,
) -> Topology:
    """A :class:`Topology` from ``Policy.accounts()`` (transport-neutral account specs).

    Each spec needs ``name``, ``role`` (``"hub"`` or ``"partner"``), ``publish``,
    ``subscribe``, ``exports`` (``subject``, ``to``) and ``imports``
    (``subject``, ``from_account``). Adds what the transport needs: one user per
    certificate (``hub-fusion``; ``<n>-c2``, ``<n>-leaf`` for ``leaf_accounts``,
    ``hub-ops``), inboxes, and for each partner a JetStream stream ``RELEASE_<N>``
    on the hub capturing what it imports from the hub, with the API calls to
    read it. ``leaves`` default: one :class:`LeafServer` per ``leaf_accounts``.
    """
    items = list(specs.values()) if isinstance(specs, Mapping) else list(specs)
    leaf_accounts = tuple(leaf_accounts)
    hub_names = [sp.name for sp in items if sp.role == "hub"]
    if len(hub_names) != 1:
        raise TopologyError(f"expected exactly one account with role 'hub', got {hub_names}")
    hub_name = hub_names[0]
    accounts = []
    for sp in items:
        base = Permissions(publish=tuple(sp.publish), subscribe=(*tuple(sp.subscribe), "_INBOX.>"))
        exports = tuple(StreamExport(subject=e.subject, to=tuple(e.to)) for e in sp.exports)
        imports = tuple(
            StreamImport(subject=i.subject, from_account=i.from_account) for i in sp.imports
        )
        if sp.role == "hub":
            accounts.append(
                Account(
                    name=sp.name,
                    users=(User(name="hub-fusion", permissions=base),),
                    exports=exports,
                    imports=imports,
                )
            )
            continue
        n = sp.name
        perms = base.union(jetstream_client_permissions(n))
        users = [User(name=f"{n.lower()}-c2", permissions=perms)]
        if n in leaf_accounts:
            users.append(User(name=f"{n.lower()}-leaf", kind=UserKind.LEAF, permissions=perms))
        users.append(User(name="hub-ops", kind=UserKind.OPS, permissions=_ops_permissions("hub")))
        from_hub = tuple(i.subject for i in imports if i.from_account == hub_name)
        streams = (
            (
                StreamSpec(
                    name=release_stream_name(n), subjects=from_hub, max_age_s=release_max_age_s
                ),
            )
            if from_hub
            else ()
        )
        accounts.append(
            Account(
                name=n,
                users=tuple(users),
                exports=exports,
                imports=imports,
                jetstream=bool(streams),
                streams=streams,
            )
        )
    if leaves is None:
        leaves = tuple(LeafServer(name=n.lower(), account=n) for n in leaf_accounts)
    return Topology(
        accounts=tuple(accounts), hub=hub if hub is not None else HubServer(), leaves=tuple(leaves)
    )


# ----------------------------------------------------------------------------------------------
# Config generation


def hub_config(topology: Topology, *, tls: TlsFiles, store_dir: Path | None = None) -> str:
    """nats-server configuration text for the hub.

    ``tls`` is the hub's server certificate (used on the client and leafnode
    ports, both with ``verify_and_map``). ``store_dir`` overrides
    ``topology.hub.store_dir`` (make it absolute in deployments).
    """
    hub = topology.hub
    conf: dict[str, Any] = {
        "server_name": hub.name,
        "listen": f"{hub.host}:{hub.client_port}",
    }
    if hub.monitor_port is not None:
        conf["http"] = f"{hub.host}:{hub.monitor_port}"
    conf["tls"] = _tls_block(tls, verify_and_map=True)
    conf["jetstream"] = {
        "domain": hub.domain,
        "store_dir": str(store_dir if store_dir is not None else hub.store_dir),
        "max_memory_store": hub.max_memory_store_bytes,
        "max_file_store": hub.max_file_store_bytes,
    }
    # No `authorization` block under leafnodes: leaf certificates are mapped to the
    # users declared in the accounts (kind LEAF, connection type LEAFNODE), which
    # carry permissions. no_advertise: a leaf must use only the URL it was given
    # (a leaf learning the hub's direct address would bypass a relay or proxy).
    conf["leafnodes"] = {
        "listen": f"{hub.host}:{hub.leafnode_port}",
        "no_advertise": True,
        "tls": _tls_block(tls, verify_and_map=True),
    }
    conf["accounts"] = {
        a.name: _account_block(a, _hub_users(topology, a), jetstream=a.jetstream)
        for a in topology.accounts
    }
    return _header(f"hub server {hub.name!r} (JetStream domain {hub.domain!r})") + _emit(conf)


def leaf_config(
    topology: Topology,
    leaf_name: str,
    *,
    server_tls: TlsFiles,
    leaf_tls: TlsFiles | None,
    hub_urls: Sequence[str] | None = None,
    store_dir: Path | None = None,
    local_auth: bool = True,
) -> str:
    """nats-server configuration text for the national leaf server ``leaf_name``.

    ``server_tls``: the site's server certificate (its client port, with
    ``verify_and_map`` for its nation's C2 users). ``leaf_tls``: the leaf user's
    client certificate, presented to the hub (``None``: dial with the CA only and
    present no certificate, which the hub refuses). ``hub_urls`` overrides the
    topology's URLs of the hub's leafnode port.

    ``local_auth=False`` writes what a *compromised* national server could run:
    no TLS on its client port, no users, no permissions, its global account
    bridged to the hub. Tests use it to show the hub alone enforces isolation.
    """
    leaf = next((s for s in topology.leaves if s.name == leaf_name), None)
    if leaf is None:
        raise TopologyError(
            f"no leaf server named {leaf_name!r}; have {[s.name for s in topology.leaves]}"
        )
    hub = topology.hub
    urls = list(hub_urls or leaf.hub_urls or (f"tls://{hub.host}:{hub.leafnode_port}",))
    account = topology.account(leaf.account)
    conf: dict[str, Any] = {
        "server_name": leaf.name,
        "listen": f"{leaf.host}:{leaf.client_port}",
    }
    if leaf.monitor_port is not None:
        conf["http"] = f"{leaf.host}:{leaf.monitor_port}"
    remote: dict[str, Any] = {
        "urls": urls,
        "tls": (
            _tls_block(leaf_tls, verify_and_map=False)
            if leaf_tls is not None
            else {"ca_file": str(server_tls.ca_path), "timeout": 5}
        ),
    }
    if local_auth:
        conf["tls"] = _tls_block(server_tls, verify_and_map=True)
        remote["account"] = account.name
    if leaf.jetstream_domain is not None:
        conf["jetstream"] = {
            "domain": leaf.jetstream_domain,
            "store_dir": str(store_dir if store_dir is not None else leaf.store_dir),
        }
    conf["leafnodes"] = {"reconnect": f"{leaf.reconnect_s}s", "remotes": [remote]}
    if local_auth:
        conf["accounts"] = {
            account.name: _account_block(
                account,
                account.users_of(UserKind.CLIENT),
                jetstream=leaf.jetstream_domain is not None,
                with_exports=False,
            )
        }
    title = f"leaf server {leaf.name!r} of account {account.name}"
    if not local_auth:
        title += " -- STRIPPED (no local auth): models a compromised server"
    return _header(title) + _emit(conf)


def _hub_users(topology: Topology, account: Account) -> tuple[User, ...]:
    """Users the hub must know: leaf and ops users, and client users whose home is the hub."""
    home_is_hub = topology.home_server(account.name) == topology.hub.name
    return tuple(
        u
        for u in account.users
        if u.kind in (UserKind.LEAF, UserKind.OPS) or (u.kind is UserKind.CLIENT and home_is_hub)
    )


def _account_block(
    account: Account, users: Iterable[User], *, jetstream: bool, with_exports: bool = True
) -> dict[str, Any]:
    block: dict[str, Any] = {"users": [_user_entry(account.name, u) for u in users]}
    if with_exports:
        if account.exports:
            block["exports"] = [
                {"stream": e.subject, "accounts": list(e.to)} for e in account.exports
            ]
        if account.imports:
            block["imports"] = [
                {"stream": {"account": i.from_account, "subject": i.subject}}
                for i in account.imports
            ]
    if jetstream:
        block["jetstream"] = _Raw("enabled")
    return block


def _user_entry(account: str, user: User) -> dict[str, Any]:
    entry: dict[str, Any] = {"user": subject_dn(user.name, account)}
    if user.permissions is not None:
        entry["permissions"] = {
            "publish": {"allow": list(user.permissions.publish)},
            "subscribe": {"allow": list(user.permissions.subscribe)},
        }
    conn = "LEAFNODE" if user.kind is UserKind.LEAF else "STANDARD"
    entry["allowed_connection_types"] = [conn]
    return entry


def _tls_block(tls: TlsFiles, *, verify_and_map: bool) -> dict[str, Any]:
    block: dict[str, Any] = {
        "cert_file": str(tls.cert_path),
        "key_file": str(tls.key_path),
        "ca_file": str(tls.ca_path),
        "timeout": 5,
    }
    if verify_and_map:
        block["verify_and_map"] = True
    return block


@dataclass(frozen=True)
class _Raw:
    """A bare word in the config (e.g. ``enabled``), written unquoted."""

    text: str


def _header(title: str) -> str:
    return (
        f"# trilink nats-server configuration: {title}\n"
        "# generated by trilink.link.natsconf; do not edit\n\n"
    )


def _emit(value: Any, indent: int = 0) -> str:
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for k, v in value.items():
            key = k if _NAME_RE.match(k) else json.dumps(k)
            if isinstance(v, dict):
                lines.append(f"{pad}{key} {{\n{_emit(v, indent + 1)}{pad}}}\n")
            else:
                lines.append(f"{pad}{key}: {_scalar_or_list(v, indent)}\n")
        return "".join(lines)
    raise TypeError(f"cannot emit {type(value).__name__} at top level")


def _scalar_or_list(v: Any, indent: int) -> str:
    pad = "  " * indent
    if isinstance(v, _Raw):
        return v.text
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str | Path):
        return json.dumps(str(v))
    if isinstance(v, list):
        if not any(isinstance(item, dict) for item in v):
            return "[" + ", ".join(_scalar_or_list(item, indent) for item in v) + "]"
        items = []
        for item in v:
            if isinstance(item, dict):
                items.append(f"{pad}  {{\n{_emit(item, indent + 2)}{pad}  }}")
            else:
                items.append(f"{pad}  {_scalar_or_list(item, indent + 1)}")
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    raise TypeError(f"cannot emit {type(v).__name__}")


def _check_name(what: str, value: str) -> None:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise TopologyError(f"{what}={value!r}: expected letters, digits, '_' or '-'")


def _check_subject(what: str, subject: str) -> None:
    tokens = subject.split(".") if isinstance(subject, str) else []
    ok = bool(tokens) and all(_SUBJECT_TOKEN_RE.match(t) for t in tokens)
    ok = ok and all(t != ">" for t in tokens[:-1])
    if not ok:
        raise TopologyError(f"{what}: {subject!r} is not a valid NATS subject")


def _subject_covers(pattern: str, subject: str) -> bool:
    """True if every subject matched by ``subject`` is matched by ``pattern`` (wildcards)."""
    p, s = pattern.split("."), subject.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(s) > i
        if i >= len(s):
            return False
        if tok == "*":
            if s[i] == ">":
                return False
            continue
        if tok != s[i]:
            return False
    return len(p) == len(s)
