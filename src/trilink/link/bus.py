"""The transport interface and the embedded default: a discrete-event in-process bus.

:class:`Transport` is all a node needs from a link: publish bytes on a subject as a
participant, subscribe a handler to a subject pattern as a participant, close. The
NATS transport implements the same Protocol; nodes do not know which one they have.

:class:`InProcessBus` runs in *scenario time*, deterministically. A message published
at time t by ``sender`` is delivered to each matching subscription of participant
``receiver`` at ``t + latency(sender, receiver)``, unless the link's loss draw drops
it. Deliveries wait in a priority queue ordered by (delivery time, publication order),
so equal times keep publication order; :meth:`InProcessBus.run_until` delivers
everything due and advances the clock. A handler may publish (at the delivery time);
those messages join the queue.

The :class:`~trilink.link.policy.Policy` is enforced exactly as the NATS broker
enforces the generated accounts: a publish or subscribe the policy does not allow
raises ``PermissionError`` naming participant and subject, and is counted.

Link model: per (sender, receiver) pair a :class:`LinkConfig` (one-way latency in s,
loss probability). Pairs not configured get :func:`default_link`: the latency model
of :mod:`trilink.link.latency` (Tokyo/Seoul/Hawaii sites), no loss. Loss draws come
from the ``numpy.random.Generator`` passed in (required if any loss is non-zero), in
publication order, so a run is reproducible from its seed.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

import numpy as np

from trilink.link.latency import PARTICIPANT_SITES, participant_delay_s
from trilink.link.policy import Policy
from trilink.link.subjects import SubjectMatcher, validate_pattern

__all__ = [
    "BusStats",
    "Handler",
    "InProcessBus",
    "LinkConfig",
    "Subscription",
    "Transport",
    "default_link",
]

logger = logging.getLogger("trilink.link.bus")

Handler = Callable[[str, bytes], None]
"""``handler(subject, data)``: called once per delivered message."""

_UNIFORM_BLOCK: Final = 4096


@runtime_checkable
class Subscription(Protocol):
    """What :meth:`Transport.subscribe` returns."""

    def unsubscribe(self) -> None: ...


@runtime_checkable
class Transport(Protocol):
    """A link as a node sees it (in-process or NATS)."""

    def publish(self, subject: str, data: bytes, *, sender: str) -> None:
        """Publish ``data`` on concrete ``subject`` as participant ``sender``.

        Raises ``PermissionError`` if the policy does not let ``sender`` publish there,
        ``ValueError`` if ``subject`` is not a valid concrete subject.
        """
        ...

    def subscribe(self, pattern: str, handler: Handler, *, subscriber: str) -> Subscription:
        """Call ``handler(subject, data)`` for each message matching ``pattern`` that
        reaches ``subscriber``. Raises ``PermissionError`` / ``ValueError`` as above."""
        ...

    def close(self) -> None:
        """Stop delivering; later publish/subscribe calls raise ``RuntimeError``."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkConfig:
    """One directed link: one-way latency (s) and the probability a message is lost."""

    latency_s: float
    loss_probability: float = 0.0

    def __post_init__(self) -> None:
        if not (self.latency_s >= 0.0 and np.isfinite(self.latency_s)):
            raise ValueError(f"LinkConfig.latency_s: must be finite and >= 0, got {self.latency_s}")
        if not (0.0 <= self.loss_probability <= 1.0):
            raise ValueError(
                f"LinkConfig.loss_probability: must be in [0, 1], got {self.loss_probability}"
            )


def default_link(sender: str, receiver: str) -> LinkConfig:
    """The latency model's one-hop delay between the participants' sites, no loss.

    A participant without a site in :data:`trilink.link.latency.PARTICIPANT_SITES` gets
    the per-hop processing delay only (co-located).
    """
    if sender in PARTICIPANT_SITES and receiver in PARTICIPANT_SITES:
        return LinkConfig(latency_s=participant_delay_s(sender, receiver))
    return LinkConfig(latency_s=participant_delay_s("HUB", "HUB"))


@dataclass(frozen=True, slots=True, kw_only=True)
class BusStats:
    """An immutable snapshot of an :class:`InProcessBus`'s counters."""

    published: int
    delivered: int
    lost: int
    """Deliveries dropped by a link's loss draw."""
    refused_publish: int
    refused_subscribe: int
    pending: int
    """Deliveries queued, not yet due."""


class _Sub:
    __slots__ = ("active", "bus", "handler", "pattern", "subscriber")

    def __init__(self, bus: InProcessBus, pattern: str, handler: Handler, subscriber: str) -> None:
        self.bus = bus
        self.pattern = pattern
        self.handler = handler
        self.subscriber = subscriber
        self.active = True

    def unsubscribe(self) -> None:
        if self.active:
            self.active = False
            self.bus._matcher.remove(self)

    def __repr__(self) -> str:
        return f"Subscription({self.subscriber} on {self.pattern!r})"


class InProcessBus:
    """Deterministic discrete-event bus in scenario time (see the module docstring).

    Args:
        policy: the sharing policy whose permissions are enforced.
        links: per ``(sender, receiver)`` link settings; other pairs use ``default``.
        default: ``f(sender, receiver) -> LinkConfig`` for unconfigured pairs
            (default :func:`default_link`).
        rng: the generator for loss draws (required if any loss is > 0).
        start_s: the initial scenario time.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        links: Mapping[tuple[str, str], LinkConfig] | None = None,
        default: Callable[[str, str], LinkConfig] = default_link,
        rng: np.random.Generator | None = None,
        start_s: float = 0.0,
    ) -> None:
        self.policy = policy
        self._links: dict[tuple[str, str], LinkConfig] = dict(links or {})
        for (s, r), cfg in self._links.items():
            for who in (s, r):
                if who not in policy.participants:
                    raise ValueError(f"links[({s!r}, {r!r})]: unknown participant {who!r}")
            if cfg.loss_probability > 0.0 and rng is None:
                raise ValueError(
                    f"links[({s!r}, {r!r})]: loss_probability > 0 needs rng (a numpy Generator)"
                )
        self._default = default
        self._rng = rng
        self._uniforms = np.empty(0)
        self._ui = 0
        self._now = float(start_s)
        self._queue: list[tuple[float, int, _Sub, str, bytes]] = []
        self._order = 0
        self._matcher: SubjectMatcher[_Sub] = SubjectMatcher()
        self._link_cache: dict[tuple[str, str], tuple[float, float]] = {}
        self._closed = False
        self._published = 0
        self._delivered = 0
        self._lost = 0
        self._refused_publish = 0
        self._refused_subscribe = 0

    # --- clock -------------------------------------------------------------------

    @property
    def now_s(self) -> float:
        """The current scenario time, s."""
        return self._now

    @property
    def stats(self) -> BusStats:
        return BusStats(
            published=self._published,
            delivered=self._delivered,
            lost=self._lost,
            refused_publish=self._refused_publish,
            refused_subscribe=self._refused_subscribe,
            pending=len(self._queue),
        )

    def next_delivery_s(self) -> float | None:
        """When the next queued delivery is due (None if the queue is empty)."""
        return self._queue[0][0] if self._queue else None

    # --- links -------------------------------------------------------------------

    def link(self, sender: str, receiver: str) -> LinkConfig:
        """The link settings used from ``sender`` to ``receiver``."""
        cfg = self._links.get((sender, receiver))
        return cfg if cfg is not None else self._default(sender, receiver)

    def set_link(self, sender: str, receiver: str, config: LinkConfig) -> None:
        """Change one directed link from now on (queued messages keep their times)."""
        if config.loss_probability > 0.0 and self._rng is None:
            raise ValueError("set_link: loss_probability > 0 needs rng (a numpy Generator)")
        self._links[(sender, receiver)] = config
        self._link_cache.pop((sender, receiver), None)

    def _link_params(self, sender: str, receiver: str) -> tuple[float, float]:
        key = (sender, receiver)
        hit = self._link_cache.get(key)
        if hit is None:
            cfg = self.link(sender, receiver)
            if cfg.loss_probability > 0.0 and self._rng is None:
                raise ValueError(
                    f"link {sender}->{receiver}: loss_probability > 0 needs rng (a numpy Generator)"
                )
            hit = (cfg.latency_s, cfg.loss_probability)
            self._link_cache[key] = hit
        return hit

    def _uniform(self) -> float:
        if self._ui >= len(self._uniforms):
            assert self._rng is not None
            self._uniforms = self._rng.random(_UNIFORM_BLOCK)
            self._ui = 0
        u = float(self._uniforms[self._ui])
        self._ui += 1
        return u

    # --- Transport -----------------------------------------------------------------

    def subscribe(self, pattern: str, handler: Handler, *, subscriber: str) -> Subscription:
        if self._closed:
            raise RuntimeError("InProcessBus: closed")
        validate_pattern(pattern)
        if not self.policy.may_subscribe(subscriber, pattern):
            self._refused_subscribe += 1
            raise PermissionError(
                f"policy {self.policy.source}: {subscriber} may not subscribe to {pattern!r}"
            )
        sub = _Sub(self, pattern, handler, subscriber)
        self._matcher.add(pattern, sub)
        return sub

    def publish(self, subject: str, data: bytes, *, sender: str, at_s: float | None = None) -> None:
        """Publish at the current time (or at ``at_s`` >= now). See :class:`Transport`."""
        if self._closed:
            raise RuntimeError("InProcessBus: closed")
        if not self.policy.may_publish(sender, subject):  # validates the subject
            self._refused_publish += 1
            raise PermissionError(
                f"policy {self.policy.source}: {sender} may not publish on {subject!r}"
            )
        t = self._now
        if at_s is not None:
            if not at_s >= t:
                raise ValueError(f"at_s={at_s}: before the bus clock now_s={t}")
            t = at_s
        self._published += 1
        queue = self._queue
        for sub in self._matcher.lookup(subject):
            latency, loss = self._link_params(sender, sub.subscriber)
            if loss > 0.0 and self._uniform() < loss:
                self._lost += 1
                continue
            self._order += 1
            heapq.heappush(queue, (t + latency, self._order, sub, subject, data))

    def close(self) -> None:
        """Stop: pending deliveries are discarded; later calls raise ``RuntimeError``."""
        self._closed = True
        self._queue.clear()

    # --- running -------------------------------------------------------------------

    def run_until(self, t_s: float) -> int:
        """Deliver everything due at or before ``t_s`` in order; the clock ends at ``t_s``.

        Returns the number of deliveries made. During a delivery ``now_s`` is its
        delivery time. A handler's exception propagates (after the clock is set to
        that delivery's time); the remaining queue is kept.
        """
        if t_s < self._now:
            raise ValueError(f"run_until({t_s}): before the bus clock now_s={self._now}")
        queue = self._queue
        pop = heapq.heappop
        n = 0
        try:
            while queue and queue[0][0] <= t_s:
                t, _, sub, subject, data = pop(queue)
                if not sub.active:
                    continue
                self._now = t
                n += 1
                sub.handler(subject, data)
        finally:
            self._delivered += n
        self._now = t_s
        return n

    def run(self) -> int:
        """Deliver until the queue is empty (handlers that keep publishing never stop)."""
        n = 0
        while self._queue:
            n += self.run_until(self._queue[0][0])
        return n
