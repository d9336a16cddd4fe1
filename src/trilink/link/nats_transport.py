"""The NATS transport: the link's publish / subscribe interface over nats-py, with mTLS.

Same small interface as the in-process bus (``publish(subject, data, *,
sender)``, ``subscribe(pattern, handler, *, subscriber)``, ``close()``), so a
node runs unchanged embedded or deployed. Two layers:

* :class:`AsyncNatsTransport`: the asyncio core (nats-py is asyncio).
* :class:`NatsTransport`: a synchronous wrapper that runs the core on its own
  event loop in a daemon thread. Handlers are called on that thread, one at a
  time, in arrival order per subscription.

Identity is the client certificate, mapped by the server to one user of one
account (``verify_and_map``); ``sender`` / ``subscriber`` are accepted for
interface parity with the in-process bus but cannot change what the broker
allows. What the broker refuses (a publish or subscribe outside the user's
permissions) is reported asynchronously by the server; such errors are
collected in :attr:`AsyncNatsTransport.permission_errors` and passed to
``on_error``.

:class:`ReleaseReader` reads the hub's ``RELEASE_<N>`` stream through the
hub's JetStream domain with a durable pull consumer: after a cut of the leaf
link it delivers everything released meanwhile, in stream order, without
duplicates (see its docstring for how).
"""

from __future__ import annotations

import asyncio
import inspect
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from trilink.link.natsconf import HUB_DOMAIN, Permissions, StreamSpec, release_stream_name
from trilink.link.pki import TlsFiles

__all__ = [
    "AsyncNatsTransport",
    "Handler",
    "NatsSubscription",
    "NatsTransport",
    "ReleaseReader",
    "ReleasedMessage",
    "ensure_streams",
    "ssl_context",
]

Handler = Callable[[str, bytes], Any]
"""``handler(subject, data)``; may be a coroutine function in the asyncio core."""


def ssl_context(tls: TlsFiles) -> ssl.SSLContext:
    """Client-side mutual-TLS context: trust only the deployment CA, present our certificate."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(tls.ca_path))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(tls.cert_path), str(tls.key_path))
    return ctx


async def _connect(
    url: str,
    tls: TlsFiles,
    *,
    name: str | None,
    on_error: Callable[[Exception], Any] | None,
    permission_errors: list[str],
    connect_timeout_s: float,
    reconnect: bool,
) -> Client:
    async def error_cb(exc: Exception) -> None:
        text = str(exc)
        if "permissions violation" in text.lower():
            permission_errors.append(text)
        if on_error is not None:
            result = on_error(exc)
            if inspect.isawaitable(result):
                await result

    return await nats.connect(
        servers=[url],
        tls=ssl_context(tls),
        name=name,
        error_cb=error_cb,
        connect_timeout=connect_timeout_s,
        allow_reconnect=reconnect,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
    )


class AsyncNatsTransport:
    """The link interface on one nats-py connection (asyncio)."""

    def __init__(self, nc: Client, *, permission_errors: list[str] | None = None) -> None:
        self.nc = nc
        self.permission_errors: list[str] = (
            permission_errors if permission_errors is not None else []
        )

    @classmethod
    async def connect(
        cls,
        url: str,
        tls: TlsFiles,
        *,
        name: str | None = None,
        on_error: Callable[[Exception], Any] | None = None,
        connect_timeout_s: float = 10.0,
        reconnect: bool = True,
    ) -> AsyncNatsTransport:
        """Connect with mutual TLS to ``url`` (``tls://host:port``) as the certificate's user."""
        errors: list[str] = []
        nc = await _connect(
            url,
            tls,
            name=name,
            on_error=on_error,
            permission_errors=errors,
            connect_timeout_s=connect_timeout_s,
            reconnect=reconnect,
        )
        return cls(nc, permission_errors=errors)

    async def publish(
        self,
        subject: str,
        data: bytes,
        *,
        sender: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Publish ``data`` on ``subject`` (buffered; see :meth:`flush`).

        ``headers``: NATS headers, e.g. ``{"Nats-Msg-Id": ...}`` so that a JetStream
        stream capturing the subject stores a re-published message only once.
        """
        del sender  # identity is the certificate; kept for interface parity
        await self.nc.publish(subject, bytes(data), headers=headers)

    async def subscribe(
        self, pattern: str, handler: Handler, *, subscriber: str | None = None
    ) -> Subscription:
        """Call ``handler(subject, data)`` for every message matching ``pattern``."""
        del subscriber

        async def cb(msg: Msg) -> None:
            result = handler(msg.subject, msg.data)
            if inspect.isawaitable(result):
                await result

        return await self.nc.subscribe(pattern, cb=cb)

    async def flush(self, timeout_s: float = 10.0) -> None:
        """Round trip to the server: everything published so far has reached it."""
        await self.nc.flush(timeout=timeout_s)

    def jetstream(self, *, domain: str | None = HUB_DOMAIN) -> JetStreamContext:
        return self.nc.jetstream(domain=domain)

    async def close(self) -> None:
        if not self.nc.is_closed:
            try:
                await self.nc.drain()
            except (nats.errors.Error, TimeoutError):
                await self.nc.close()


@dataclass(frozen=True, kw_only=True, slots=True)
class ReleasedMessage:
    """One message from a release stream, with its stream sequence number."""

    subject: str
    data: bytes
    stream_seq: int


class ReleaseReader:
    """Durable reader of ``RELEASE_<nation>`` on the hub, through the hub's JetStream domain.

    A durable pull consumer (explicit acks) keeps the read position on the
    hub, so it survives the client, the leaf link and the hub restarting. The
    reader delivers messages to the caller in stream order, each once:

    * it keeps a cursor (last stream sequence delivered) and drops anything at
      or below it (redeliveries of messages whose ack was lost in a cut);
    * a jump in sequence (a message handed out by the hub but lost with the
      link before it arrived; the consumer would redeliver it only after
      ``ack_wait``) is filled at once by reading the missing sequences from
      the stream (``STREAM.MSG.GET``); sequences that no longer exist (aged
      out) are skipped;
    * each message is acked after it has been handed over.

    On start the cursor is the consumer's ack floor (or just before the
    stream's first message for a new consumer), so a restarted client resumes
    where the last one acknowledged.
    """

    def __init__(
        self,
        js: JetStreamContext,
        *,
        nation: str,
        durable: str,
        stream: str | None = None,
        ack_wait_s: float = 10.0,
        max_ack_pending: int = 1000,
        subject: str | None = None,
        inactive_threshold_s: float | None = None,
    ) -> None:
        self.js = js
        self.nation = nation
        self.durable = durable
        self.stream = stream or release_stream_name(nation)
        self.subject = subject or f"tl.release.{nation}.>"
        """The consumer's filter (``>``: the whole stream, whatever its subjects)."""
        self.inactive_threshold_s = inactive_threshold_s
        self.ack_wait_s = ack_wait_s
        self.max_ack_pending = max_ack_pending
        self.cursor = 0
        self.duplicates_dropped = 0
        self.gaps_filled = 0
        self._sub: JetStreamContext.PullSubscription | None = None

    async def start(self) -> None:
        """Create the durable consumer if absent, bind to it and set the cursor."""
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait_s,
            max_ack_pending=self.max_ack_pending,
            filter_subject=None if self.subject == ">" else self.subject,
            inactive_threshold=self.inactive_threshold_s,
        )
        self._sub = await self.js.pull_subscribe(
            self.subject, durable=self.durable, stream=self.stream, config=config
        )
        info = await self.js.consumer_info(self.stream, self.durable)
        floor = info.ack_floor.stream_seq if info.ack_floor is not None else 0
        if floor:
            self.cursor = floor
        else:
            sinfo = await self.js.stream_info(self.stream)
            self.cursor = max(0, (sinfo.state.first_seq or 1) - 1)

    async def poll(
        self,
        handler: Callable[[ReleasedMessage], Any],
        *,
        max_msgs: int = 256,
        timeout_s: float = 1.0,
    ) -> int:
        """Fetch up to ``max_msgs`` and hand them to ``handler`` in order; return how many.

        Returns 0 when nothing arrived within ``timeout_s`` or the hub is
        unreachable (link cut, hub restarting): call again.
        """
        if self._sub is None:
            await self.start()
        assert self._sub is not None
        try:
            msgs = await self._sub.fetch(max_msgs, timeout=timeout_s)
        except (
            TimeoutError,
            nats.errors.TimeoutError,
            nats.errors.NoRespondersError,
            nats.js.errors.APIError,
            nats.errors.ConnectionClosedError,
        ):
            return 0
        delivered = 0
        for msg in msgs:
            seq = msg.metadata.sequence.stream
            if seq <= self.cursor:
                self.duplicates_dropped += 1
                await _ack(msg)
                continue
            if seq > self.cursor + 1:
                delivered += await self._fill_gap(seq, handler)
            result = handler(ReleasedMessage(subject=msg.subject, data=msg.data, stream_seq=seq))
            if inspect.isawaitable(result):
                await result
            self.cursor = seq
            delivered += 1
            await _ack(msg)
        return delivered

    async def _fill_gap(self, upto: int, handler: Callable[[ReleasedMessage], Any]) -> int:
        delivered = 0
        for missing in range(self.cursor + 1, upto):
            try:
                raw = await self.js.get_msg(self.stream, seq=missing)
            except nats.js.errors.NotFoundError:
                self.cursor = missing
                continue
            if raw.subject is None or not _matches(self.subject, raw.subject):
                self.cursor = missing
                continue
            result = handler(
                ReleasedMessage(subject=raw.subject, data=raw.data or b"", stream_seq=missing)
            )
            if inspect.isawaitable(result):
                await result
            self.cursor = missing
            self.gaps_filled += 1
            delivered += 1
        return delivered

    async def fetch(self, *, max_msgs: int = 256, timeout_s: float = 1.0) -> list[ReleasedMessage]:
        """:meth:`poll` collecting into a list (acked once collected)."""
        out: list[ReleasedMessage] = []
        await self.poll(out.append, max_msgs=max_msgs, timeout_s=timeout_s)
        return out

    async def stop(self) -> None:
        """Unsubscribe the pull inbox (the durable consumer stays on the hub)."""
        if self._sub is not None:
            with _suppress_nats():
                await self._sub.unsubscribe()
            self._sub = None


async def _ack(msg: Msg) -> None:
    with _suppress_nats():
        await msg.ack()


class _suppress_nats:  # noqa: N801 - used like contextlib.suppress
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> bool:
        return exc_type is not None and issubclass(exc_type, nats.errors.Error | TimeoutError)


def _covers(pattern: str, sub_pattern: str) -> bool:
    """Every subject matched by ``sub_pattern`` is matched by ``pattern``."""
    p, s = pattern.split("."), sub_pattern.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(s) > i
        if i >= len(s) or s[i] == ">" or (tok != "*" and (s[i] == "*" or tok != s[i])):
            return False
    return len(p) == len(s)


def _matches(pattern: str, subject: str) -> bool:
    p, s = pattern.split("."), subject.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(s) > i
        if i >= len(s) or (tok != "*" and tok != s[i]):
            return False
    return len(p) == len(s)


async def ensure_streams(
    url: str, tls: TlsFiles, streams: Iterable[StreamSpec], *, domain: str | None = None
) -> None:
    """Create each stream, or update it to ``spec`` if it exists (run as the ``hub-ops`` user)."""
    nc = await _connect(
        url,
        tls,
        name="trilink-provision",
        on_error=None,
        permission_errors=[],
        connect_timeout_s=10.0,
        reconnect=False,
    )
    try:
        js = nc.jetstream(domain=domain)
        for spec in streams:
            config = StreamConfig(
                name=spec.name,
                subjects=list(spec.subjects),
                storage=StorageType.FILE,
                max_age=spec.max_age_s,
                max_bytes=spec.max_bytes,
                max_msgs=spec.max_msgs,
                duplicate_window=spec.duplicate_window_s,
            )
            try:
                await js.stream_info(spec.name)
            except nats.js.errors.NotFoundError:
                await js.add_stream(config)
            else:
                await js.update_stream(config)
    finally:
        await nc.close()


class NatsSubscription:
    """What :meth:`NatsTransport.subscribe` returns (``trilink.link.bus.Subscription``)."""

    def __init__(self, transport: NatsTransport, sub: Subscription) -> None:
        self._transport = transport
        self._sub = sub

    def unsubscribe(self) -> None:
        if not self._transport.closed:
            self._transport._run(self._sub.unsubscribe())


class NatsTransport:
    """Synchronous link interface (``trilink.link.bus.Transport``) over NATS.

    An :class:`AsyncNatsTransport` on a private event-loop thread; handlers run
    on that thread. ``identity`` (the account the certificate maps to, e.g.
    ``"JP"``) and ``permissions`` (the user's allow lists, e.g. from
    :func:`~trilink.link.natsconf.nation_client_permissions`) are optional
    local checks that raise ``PermissionError`` at once, as the in-process bus
    does; the server enforces the same rules whatever is passed here (and
    reports violations asynchronously in :attr:`permission_errors`).
    """

    def __init__(
        self,
        url: str,
        tls: TlsFiles,
        *,
        name: str | None = None,
        identity: str | None = None,
        permissions: Permissions | None = None,
        on_error: Callable[[Exception], Any] | None = None,
        connect_timeout_s: float = 10.0,
        reconnect: bool = True,
    ) -> None:
        self.identity = identity
        self.permissions = permissions
        self.closed = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"NatsTransport-{name or url}", daemon=True
        )
        self._thread.start()
        try:
            self.core: AsyncNatsTransport = self._run(
                AsyncNatsTransport.connect(
                    url,
                    tls,
                    name=name,
                    on_error=on_error,
                    connect_timeout_s=connect_timeout_s,
                    reconnect=reconnect,
                ),
                timeout_s=connect_timeout_s + 5.0,
            )
        except BaseException:
            self._stop_loop()
            raise

    def _run(self, coro: Awaitable[Any], *, timeout_s: float | None = 30.0) -> Any:
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]
        return fut.result(timeout_s)

    @property
    def permission_errors(self) -> list[str]:
        return list(self.core.permission_errors)

    def _check(self, what: str, subject: str, who: str | None, allowed: tuple[str, ...]) -> None:
        if self.closed:
            raise RuntimeError(f"NatsTransport closed: cannot {what} {subject!r}")
        if self.identity is not None and who is not None and who != self.identity:
            raise PermissionError(
                f"{who!r} cannot {what} {subject!r} on a connection of {self.identity!r}"
            )
        if self.permissions is not None and not any(
            _matches(a, subject) if what == "publish" else _covers(a, subject) for a in allowed
        ):
            raise PermissionError(f"{who or self.identity!r} may not {what} {subject!r}")

    def publish(
        self,
        subject: str,
        data: bytes,
        *,
        sender: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        allowed = self.permissions.publish if self.permissions else ()
        self._check("publish", subject, sender, allowed)
        pub = self.core.publish(subject, data, sender=sender, headers=headers)
        if threading.current_thread() is self._thread:
            # from a handler (on the loop's own thread): waiting for the loop would
            # deadlock it; queue the publication behind the running callback instead
            # (tasks start in creation order, so publications keep their order)
            self._loop.create_task(pub)
            return
        self._run(pub)

    def subscribe(
        self, pattern: str, handler: Handler, *, subscriber: str | None = None
    ) -> NatsSubscription:
        """Call ``handler(subject, data)`` on the transport's thread for each matching message."""
        allowed = self.permissions.subscribe if self.permissions else ()
        self._check("subscribe to", pattern, subscriber, allowed)
        sub = self._run(self.core.subscribe(pattern, handler, subscriber=subscriber))
        return NatsSubscription(self, sub)

    def flush(self, timeout_s: float = 10.0) -> None:
        self._run(self.core.flush(timeout_s), timeout_s=timeout_s + 5.0)

    def release_reader(self, nation: str, durable: str, **kwargs: Any) -> SyncReleaseReader:
        """A started :class:`ReleaseReader` through the hub's domain, driven synchronously."""
        reader = ReleaseReader(self.core.jetstream(), nation=nation, durable=durable, **kwargs)
        self._run(reader.start())
        return SyncReleaseReader(self, reader)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._run(self.core.close(), timeout_s=15.0)
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10.0)
        if not self._loop.is_running():
            self._loop.close()

    def __enter__(self) -> NatsTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SyncReleaseReader:
    """:class:`ReleaseReader` driven from sync code through a :class:`NatsTransport`'s loop."""

    def __init__(self, transport: NatsTransport, reader: ReleaseReader) -> None:
        self._transport = transport
        self.reader = reader

    def fetch(self, *, max_msgs: int = 256, timeout_s: float = 1.0) -> list[ReleasedMessage]:
        return self._transport._run(
            self.reader.fetch(max_msgs=max_msgs, timeout_s=timeout_s), timeout_s=timeout_s + 30.0
        )

    def stop(self) -> None:
        """Unsubscribe (the durable consumer stays on the hub)."""
        if not self._transport.closed:
            self._transport._run(self.reader.stop())
