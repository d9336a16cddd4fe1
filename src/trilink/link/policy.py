"""The sharing policy: who may publish and subscribe what, and what the hub releases.

One validated TOML file (the built-in default is ``default_policy.toml`` beside this
module) drives both transports: :class:`trilink.link.bus.InProcessBus` checks
:meth:`Policy.may_publish` / :meth:`Policy.may_subscribe` on every call, and
:meth:`Policy.accounts` describes the broker accounts that the NATS deployment is
generated from. The hub calls :meth:`Policy.release_decision` before passing any
message to a partner.

File schema (every key is checked; unknown keys are errors)::

    version = 1
    hub = "HUB"                                # the fusing participant
    participants = ["HUB", "JP", "KR", "US"]
    never_release = ["SensorSite", "DetectionReport"]   # never passed to any partner

    [permissions.<P>]                          # one table per participant
    publish = ["tl.JP.tracks", ...]            # subject patterns P may publish on
    subscribe = ["tl.release.JP.>"]            # patterns P may subscribe within

    [release.<R>]                              # one per partner (not the hub)
    strip = ["sensor_ids", "Type.field"]       # reset to the field's default
    [release.<R>.coarsen]
    "LaunchNotice.launch.lat_deg" = 0.01       # round to a multiple of the quantum
    [release.<R>.from.<ORIGIN>]
    types = ["SystemTrack", ...]               # types with this origin R may receive

Invariants checked on load (so no file can open a direct partner-to-partner path):
a partner ``N`` publishes only inside ``tl.N.>`` and subscribes only inside
``tl.release.N.>``; the hub publishes only inside ``tl.release.>`` and ``tl.hub.>``;
no partner may subscribe to anything another partner may publish; no
``never_release`` type appears in a release list.

Errors are :class:`PolicyError`, one line naming the file and the field path, e.g.
``policy.toml: release.JP.from.HUB.types[2]: unknown message type 'Foo'``.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

import msgspec
import msgspec.inspect as mi

from trilink.link.messages import MESSAGE_TYPES, Bundle, Message
from trilink.link.subjects import (
    compile_pattern,
    is_subset,
    overlaps,
    validate_pattern,
    validate_subject,
)

__all__ = [
    "DEFAULT_POLICY_PATH",
    "AccountExport",
    "AccountImport",
    "AccountSpec",
    "Policy",
    "PolicyError",
    "ReleaseDecision",
]

DEFAULT_POLICY_PATH: Final = Path(__file__).with_name("default_policy.toml")
POLICY_VERSION: Final = 1

_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,15}$")
_TOP_KEYS: Final = frozenset(
    {"version", "hub", "participants", "never_release", "permissions", "release"}
)


class PolicyError(ValueError):
    """An invalid policy: one line naming the file, the field path and the problem."""


# ---------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseDecision:
    """The outcome of :meth:`Policy.release_decision`, for the hub's event log."""

    allowed: bool
    reason: str
    """Why, in words (e.g. ``"TrackReport from KR is not releasable to JP"``)."""
    recipient: str
    message_type: str
    message: Message | None
    """The filtered copy to send (stripped/coarsened), or None if not allowed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountExport:
    """Messages published in this account on ``subject`` are made available to ``to``."""

    subject: str
    to: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountImport:
    """Messages on ``subject`` published in ``from_account`` are delivered into this account."""

    subject: str
    from_account: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountSpec:
    """One participant's account, transport-neutral (see :meth:`Policy.accounts`)."""

    name: str
    role: Literal["hub", "partner"]
    publish: tuple[str, ...]
    """Subject patterns the account's users may publish on."""
    subscribe: tuple[str, ...]
    """Subject patterns the account's users may subscribe within."""
    exports: tuple[AccountExport, ...]
    imports: tuple[AccountImport, ...]

    def as_dict(self) -> dict[str, Any]:
        """Plain dicts and lists (JSON-ready)."""
        return {
            "name": self.name,
            "role": self.role,
            "publish": list(self.publish),
            "subscribe": list(self.subscribe),
            "exports": [{"subject": e.subject, "to": list(e.to)} for e in self.exports],
            "imports": [
                {"subject": i.subject, "from_account": i.from_account} for i in self.imports
            ],
        }


# ---------------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------------


class _Ctx:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str) -> PolicyError:
        return PolicyError(f"{self.source}: {path}: {problem}")

    def table(self, value: object, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a table, got {_tname(value)}")
        return value

    def str_list(self, value: object, path: str) -> list[str]:
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list of strings, got {_tname(value)}")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.fail(f"{path}[{i}]", f"expected a string, got {_tname(item)}")
        return value

    def keys(self, table: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
        for key in table:
            if key not in allowed:
                where = f"{path}.{key}" if path else key
                raise self.fail(where, f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _tname(value: object) -> str:
    return {dict: "table", list: "array", str: "string", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def _unwrap_optional(t: mi.Type) -> mi.Type:
    if isinstance(t, mi.UnionType):
        rest = [u for u in t.types if not isinstance(u, mi.NoneType)]
        if len(rest) == 1:
            return rest[0]
    return t


def _field_default(cls: type[msgspec.Struct], name: str) -> tuple[bool, Any]:
    for f in msgspec.structs.fields(cls):
        if f.name == name:
            if f.default is not msgspec.NODEFAULT:
                return True, f.default
            if f.default_factory is not msgspec.NODEFAULT:
                return True, f.default_factory()
            return False, None
    raise KeyError(name)


def _is_float_like(t: mi.Type) -> bool:
    t = _unwrap_optional(t)
    if isinstance(t, mi.FloatType):
        return True
    if isinstance(t, mi.TupleType):
        return all(isinstance(_unwrap_optional(u), mi.FloatType) for u in t.item_types)
    if isinstance(t, mi.VarTupleType):
        return isinstance(_unwrap_optional(t.item_type), mi.FloatType)
    return False


def _quantize(value: Any, quantum: float) -> Any:
    if value is None:
        return None
    if isinstance(value, tuple):
        return tuple(round(v / quantum) * quantum for v in value)
    return round(value / quantum) * quantum


@dataclass(frozen=True, slots=True)
class _Coarsen:
    path: tuple[str, ...]  # (field,) or (field, subfield)
    quantum: float


@dataclass(frozen=True, slots=True)
class _Plan:
    allowed: bool
    reason: str
    strip: tuple[tuple[str, Any], ...] = ()
    coarsen: tuple[_Coarsen, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Release:
    origins: Mapping[str, frozenset[str]]
    strip: tuple[str, ...]
    coarsen: Mapping[str, float]


# ---------------------------------------------------------------------------------
# the policy
# ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, eq=False)
class Policy:
    """A validated sharing policy. Build with :meth:`load`, :meth:`loads` or :meth:`default`."""

    source: str
    hub: str
    participants: tuple[str, ...]
    never_release: frozenset[str]
    publish: Mapping[str, tuple[str, ...]]
    subscribe: Mapping[str, tuple[str, ...]]
    _release: Mapping[str, _Release]
    _plans: dict[tuple[str, str, str], _Plan] = field(default_factory=dict, repr=False)
    _pub_cache: dict[tuple[str, str], bool] = field(default_factory=dict, repr=False)

    # --- construction --------------------------------------------------------------

    @classmethod
    def default(cls) -> Policy:
        """The built-in policy (``default_policy.toml``)."""
        return cls.load(DEFAULT_POLICY_PATH)

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        """Read and validate a policy file (``PolicyError`` naming the field on any problem)."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(f"{p}: cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise PolicyError(f"{p}: not UTF-8 text: {exc.reason}") from None
        return cls.loads(text, source=p.name)

    @classmethod
    def loads(cls, text: str, *, source: str = "<policy>") -> Policy:
        """Parse and validate policy TOML text."""
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"{source}: not valid TOML: {exc}") from None
        return cls.from_dict(doc, source=source)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, source: str = "<policy>") -> Policy:
        """Validate an already parsed policy document."""
        ctx = _Ctx(source)
        ctx.keys(doc, _TOP_KEYS, "")
        for key in ("version", "hub", "participants", "permissions"):
            if key not in doc:
                raise ctx.fail(key, "missing")
        version = doc["version"]
        if version != POLICY_VERSION or isinstance(version, bool):
            raise ctx.fail(
                "version", f"unsupported version {version!r} (expected {POLICY_VERSION})"
            )

        participants = ctx.str_list(doc["participants"], "participants")
        if not participants:
            raise ctx.fail("participants", "empty")
        for i, name in enumerate(participants):
            if not _NAME.match(name):
                raise ctx.fail(
                    f"participants[{i}]", f"{name!r} is not a valid name (A-Z, 0-9, _; ≤ 16)"
                )
            if name in participants[:i]:
                raise ctx.fail(f"participants[{i}]", f"duplicate participant {name!r}")
        hub = doc["hub"]
        if not isinstance(hub, str):
            raise ctx.fail("hub", f"expected a string, got {_tname(hub)}")
        if hub not in participants:
            raise ctx.fail("hub", f"{hub!r} is not one of the participants {participants}")
        partners = [p for p in participants if p != hub]

        never = ctx.str_list(doc.get("never_release", []), "never_release")
        for i, t in enumerate(never):
            if t not in MESSAGE_TYPES:
                raise ctx.fail(f"never_release[{i}]", _unknown_type(t))

        publish, subscribe = cls._permissions(ctx, doc["permissions"], participants, hub)
        release = cls._releases(ctx, doc.get("release", {}), participants, hub, frozenset(never))
        return cls(
            source=source,
            hub=hub,
            participants=tuple(participants),
            never_release=frozenset(never),
            publish=MappingProxyType(publish),
            subscribe=MappingProxyType(subscribe),
            _release=MappingProxyType({p: release[p] for p in partners if p in release}),
        )

    @staticmethod
    def _permissions(
        ctx: _Ctx, raw: object, participants: Sequence[str], hub: str
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
        perms = ctx.table(raw, "permissions")
        for name in perms:
            if name not in participants:
                raise ctx.fail(f"permissions.{name}", f"unknown participant {name!r}")
        publish: dict[str, tuple[str, ...]] = {}
        subscribe: dict[str, tuple[str, ...]] = {}
        for name in participants:
            path = f"permissions.{name}"
            if name not in perms:
                raise ctx.fail(path, "missing (every participant needs publish and subscribe)")
            table = ctx.table(perms[name], path)
            ctx.keys(table, frozenset({"publish", "subscribe"}), path)
            for kind, out in (("publish", publish), ("subscribe", subscribe)):
                patterns = ctx.str_list(table.get(kind, []), f"{path}.{kind}")
                for i, pat in enumerate(patterns):
                    try:
                        validate_pattern(pat)
                    except ValueError as exc:
                        raise ctx.fail(f"{path}.{kind}[{i}]", str(exc)) from None
                    if name == hub:
                        scope = ("tl.release.>", "tl.hub.>") if kind == "publish" else (">",)
                    elif kind == "publish":
                        scope = (f"tl.{name}.>",)
                    else:
                        scope = (f"tl.release.{name}.>",)
                    if not any(is_subset(pat, s) for s in scope):
                        raise ctx.fail(
                            f"{path}.{kind}[{i}]",
                            f"{pat!r} is outside {name}'s {kind} namespace {' or '.join(scope)}",
                        )
                out[name] = tuple(patterns)
        # no partner may hear another partner directly
        for a in participants:
            for b in participants:
                if a == b or hub in (a, b):
                    continue
                for j, s in enumerate(subscribe[b]):
                    for p in publish[a]:
                        if overlaps(p, s):
                            raise ctx.fail(
                                f"permissions.{b}.subscribe[{j}]",
                                f"{s!r} overlaps {a}'s publish {p!r}: partners must not "
                                "link directly",
                            )
        return publish, subscribe

    @staticmethod
    def _releases(
        ctx: _Ctx, raw: object, participants: Sequence[str], hub: str, never: frozenset[str]
    ) -> dict[str, _Release]:
        table = ctx.table(raw, "release")
        out: dict[str, _Release] = {}
        for recipient, entry in table.items():
            path = f"release.{recipient}"
            if recipient not in participants:
                raise ctx.fail(path, f"unknown participant {recipient!r}")
            if recipient == hub:
                raise ctx.fail(path, "the hub receives every national report; no release entry")
            entry = ctx.table(entry, path)
            ctx.keys(entry, frozenset({"from", "strip", "coarsen"}), path)
            origins: dict[str, frozenset[str]] = {}
            for origin, spec in ctx.table(entry.get("from", {}), f"{path}.from").items():
                opath = f"{path}.from.{origin}"
                if origin not in participants:
                    raise ctx.fail(opath, f"unknown participant {origin!r}")
                spec = ctx.table(spec, opath)
                ctx.keys(spec, frozenset({"types"}), opath)
                types = ctx.str_list(spec.get("types", []), f"{opath}.types")
                for i, t in enumerate(types):
                    if t not in MESSAGE_TYPES:
                        raise ctx.fail(f"{opath}.types[{i}]", _unknown_type(t))
                    if t in never:
                        raise ctx.fail(f"{opath}.types[{i}]", f"{t!r} is listed in never_release")
                origins[origin] = frozenset(types)
            strip = ctx.str_list(entry.get("strip", []), f"{path}.strip")
            for i, name in enumerate(strip):
                _check_strip(ctx, f"{path}.strip[{i}]", name)
            coarsen: dict[str, float] = {}
            for key, q in ctx.table(entry.get("coarsen", {}), f"{path}.coarsen").items():
                cpath = f'{path}.coarsen."{key}"'
                if isinstance(q, bool) or not isinstance(q, int | float):
                    raise ctx.fail(cpath, f"expected a number (the quantum), got {_tname(q)}")
                if not (math.isfinite(q) and q > 0):
                    raise ctx.fail(cpath, f"quantum must be a finite number > 0, got {q!r}")
                _check_coarsen(ctx, cpath, key)
                coarsen[key] = float(q)
            out[recipient] = _Release(
                origins=MappingProxyType(origins),
                strip=tuple(strip),
                coarsen=MappingProxyType(coarsen),
            )
        return out

    # --- permissions -----------------------------------------------------------------

    def may_publish(self, participant: str, subject: str) -> bool:
        """True if ``participant`` may publish on concrete ``subject``.

        Raises ``ValueError`` (naming the subject) if ``subject`` is not a valid
        concrete subject.
        """
        key = (participant, subject)
        hit = self._pub_cache.get(key)
        if hit is None:
            validate_subject(subject)
            hit = any(compile_pattern(p)(subject) for p in self.publish.get(participant, ()))
            if len(self._pub_cache) > 65_536:
                self._pub_cache.clear()
            self._pub_cache[key] = hit
        return hit

    def may_subscribe(self, participant: str, pattern: str) -> bool:
        """True if every subject matching ``pattern`` is inside ``participant``'s subscribe
        patterns (so ``>`` or ``tl.release.*.alerts`` are refused to a partner).

        Raises ``ValueError`` (naming the pattern) if ``pattern`` is not valid.
        """
        validate_pattern(pattern)
        return any(is_subset(pattern, allowed) for allowed in self.subscribe.get(participant, ()))

    # --- releasability -------------------------------------------------------------

    def release_decision(self, message: Message, recipient: str) -> ReleaseDecision:
        """Whether and in what form the hub may pass ``message`` to ``recipient``.

        Rules, in order: the hub itself receives everything unchanged; an unknown
        recipient receives nothing; ``never_release`` types go to no partner; a message
        addressed to one participant (a ``recipient`` field, e.g.
        :class:`~trilink.link.messages.RegistrationCorrection`) goes only there; then
        the type must be listed in ``release.<recipient>.from.<message.origin>.types``.
        An allowed message is copied with ``strip`` fields reset to their defaults and
        ``coarsen`` fields rounded (``msgspec.structs.replace``; the original is
        untouched).
        """
        if isinstance(message, Bundle):
            return self._release_bundle(message, recipient)
        tname = type(message).__name__
        origin: str = getattr(message, "origin", "")
        if recipient == self.hub:
            return ReleaseDecision(
                allowed=True,
                reason="the hub receives every message unfiltered",
                recipient=recipient,
                message_type=tname,
                message=message,
            )
        addressed = getattr(message, "recipient", None)
        if addressed is not None and addressed != recipient:
            return ReleaseDecision(
                allowed=False,
                reason=f"{tname} is addressed to {addressed}, not {recipient}",
                recipient=recipient,
                message_type=tname,
                message=None,
            )
        key = (recipient, origin, tname)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plan(recipient, origin, type(message))
            self._plans[key] = plan
        if not plan.allowed:
            return ReleaseDecision(
                allowed=False,
                reason=plan.reason,
                recipient=recipient,
                message_type=tname,
                message=None,
            )
        return ReleaseDecision(
            allowed=True,
            reason=plan.reason,
            recipient=recipient,
            message_type=tname,
            message=_apply(message, plan),
        )

    def _release_bundle(self, bundle: Bundle, recipient: str) -> ReleaseDecision:
        """A bundle is released item by item: the bundle of the releasable items (their
        filtered copies), or nothing if none is."""
        kept: list[Message] = []
        reasons: dict[str, int] = {}
        for item in bundle.items:
            d = self.release_decision(item, recipient)
            if d.message is not None:
                kept.append(d.message)
            else:
                reasons[d.reason] = reasons.get(d.reason, 0) + 1
        refused = "; ".join(f"{n}× {r}" for r, n in reasons.items())
        if not kept:
            return ReleaseDecision(
                allowed=False,
                reason=f"no releasable item ({refused})",
                recipient=recipient,
                message_type="Bundle",
                message=None,
            )
        same = len(kept) == len(bundle.items) and all(
            a is b for a, b in zip(kept, bundle.items, strict=True)
        )
        out = bundle if same else msgspec.structs.replace(bundle, items=tuple(kept))
        return ReleaseDecision(
            allowed=True,
            reason=f"{len(kept)} of {len(bundle.items)} items releasable"
            + (f" (refused: {refused})" if refused else ""),
            recipient=recipient,
            message_type="Bundle",
            message=out,
        )

    def release(self, message: Message, recipient: str) -> Message | None:
        """The filtered copy of ``message`` for ``recipient``, or None if not releasable
        (:meth:`release_decision` gives the reason)."""
        return self.release_decision(message, recipient).message

    def _plan(self, recipient: str, origin: str, cls: type[Message]) -> _Plan:
        tname = cls.__name__
        if recipient not in self.participants:
            return _Plan(False, f"unknown recipient {recipient!r}")
        if tname in self.never_release:
            return _Plan(False, f"{tname} is never released (never_release)")
        rel = self._release.get(recipient)
        if rel is None:
            return _Plan(False, f"no release entry for {recipient}")
        types = rel.origins.get(origin)
        if types is None or tname not in types:
            return _Plan(False, f"{tname} from {origin} is not releasable to {recipient}")
        names = {f.name for f in msgspec.structs.fields(cls)}
        strip: list[tuple[str, Any]] = []
        for spec in rel.strip:
            t, _, f = spec.rpartition(".")
            if (not t or t == tname) and f in names:
                has_default, default = _field_default(cls, f)
                if has_default:
                    strip.append((f, default))
        coarsen = tuple(
            _Coarsen(tuple(key.split(".")[1:]), q)
            for key, q in rel.coarsen.items()
            if key.split(".", 1)[0] == tname
        )
        detail = []
        if strip:
            detail.append("stripped " + ", ".join(f for f, _ in strip))
        if coarsen:
            detail.append("coarsened " + ", ".join(".".join(c.path) for c in coarsen))
        reason = f"{tname} from {origin} releasable to {recipient}"
        if detail:
            reason += " (" + "; ".join(detail) + ")"
        return _Plan(True, reason, tuple(strip), coarsen)

    # --- accounts ----------------------------------------------------------------

    def accounts(self) -> Mapping[str, AccountSpec]:
        """A transport-neutral description of each participant's broker account.

        For every participant (in file order) an :class:`AccountSpec` with:

        * ``publish`` / ``subscribe``: the subject patterns its users may publish on and
          subscribe within (NATS user ``permissions.publish.allow`` /
          ``permissions.subscribe.allow``);
        * ``exports``: streams of messages published *in this account* that other
          accounts may receive: ``AccountExport(subject, to=(accounts...))``
          (NATS ``exports: [{stream: subject, accounts: [...]}]``);
        * ``imports``: streams this account receives from another account:
          ``AccountImport(subject, from_account)``
          (NATS ``imports: [{stream: {account: from_account, subject: subject}}]``).

        A stream exists from account A to account B for each pair of A's publish
        pattern and B's subscribe pattern that overlap; its subject is the narrower of
        the two (they always nest in a valid policy). With the default policy: each
        partner N exports ``tl.N.tracks``, ``tl.N.notices``, ``tl.N.heartbeat`` and
        ``tl.N.status`` to ``HUB`` (and ``HUB`` imports them), and ``HUB`` exports
        ``tl.release.N.>`` to N alone (and N imports it). ``tl.hub.>`` stays inside
        the hub's account. No stream ever joins two partners (checked on load).
        """
        exports: dict[str, dict[str, list[str]]] = {p: {} for p in self.participants}
        imports: dict[str, list[AccountImport]] = {p: [] for p in self.participants}
        for a in self.participants:
            for p in self.publish[a]:
                for b in self.participants:
                    if b == a:
                        continue
                    for s in self.subscribe[b]:
                        if not overlaps(p, s):
                            continue
                        if is_subset(p, s):
                            subject = p
                        elif is_subset(s, p):
                            subject = s
                        else:  # pragma: no cover - cannot happen for namespaced policies
                            raise PolicyError(
                                f"{self.source}: permissions: {a} publish {p!r} and {b} "
                                f"subscribe {s!r} overlap without nesting"
                            )
                        to = exports[a].setdefault(subject, [])
                        if b not in to:
                            to.append(b)
                        imp = AccountImport(subject=subject, from_account=a)
                        if imp not in imports[b]:
                            imports[b].append(imp)
        return MappingProxyType(
            {
                name: AccountSpec(
                    name=name,
                    role="hub" if name == self.hub else "partner",
                    publish=self.publish[name],
                    subscribe=self.subscribe[name],
                    exports=tuple(
                        AccountExport(subject=s, to=tuple(to)) for s, to in exports[name].items()
                    ),
                    imports=tuple(imports[name]),
                )
                for name in self.participants
            }
        )

    def releasable_types(self, recipient: str, origin: str) -> frozenset[str]:
        """Message type names with ``origin`` that ``recipient`` may receive."""
        rel = self._release.get(recipient)
        if rel is None:
            return frozenset()
        return rel.origins.get(origin, frozenset())


def _unknown_type(name: str) -> str:
    return f"unknown message type {name!r} (known: {', '.join(sorted(MESSAGE_TYPES))})"


def _check_strip(ctx: _Ctx, path: str, spec: str) -> None:
    tname, _, fname = spec.rpartition(".")
    classes = [MESSAGE_TYPES[tname]] if tname else list(MESSAGE_TYPES.values())
    if tname and tname not in MESSAGE_TYPES:
        raise ctx.fail(path, _unknown_type(tname))
    found = False
    for cls in classes:
        try:
            has_default, _ = _field_default(cls, fname)
        except KeyError:
            continue
        found = True
        if not has_default:
            raise ctx.fail(
                path, f"{cls.__name__}.{fname} is a required field and cannot be stripped"
            )
    if not found or fname in ("version", "origin"):
        raise ctx.fail(path, f"no strippable field {fname!r} in {tname or 'any message type'}")


def _check_coarsen(ctx: _Ctx, path: str, key: str) -> None:
    parts = key.split(".")
    if len(parts) not in (2, 3):
        raise ctx.fail(path, "expected 'Type.field' or 'Type.field.subfield'")
    if parts[0] not in MESSAGE_TYPES:
        raise ctx.fail(path, _unknown_type(parts[0]))
    t: mi.Type = mi.type_info(MESSAGE_TYPES[parts[0]])
    for name in parts[1:]:
        t = _unwrap_optional(t)
        if not isinstance(t, mi.StructType):
            raise ctx.fail(path, f"{name!r}: the field before it is not a struct")
        match = [f for f in t.fields if f.name == name]
        if not match:
            raise ctx.fail(path, f"no field {name!r} in {t.cls.__name__}")
        t = match[0].type
    if not _is_float_like(t):
        raise ctx.fail(path, "only float fields (or tuples of floats) can be coarsened")


def _apply(message: Message, plan: _Plan) -> Message:
    changes: dict[str, Any] = {}
    for name, default in plan.strip:
        if getattr(message, name) != default:
            changes[name] = default
    for c in plan.coarsen:
        if len(c.path) == 1:
            changes[c.path[0]] = _quantize(getattr(message, c.path[0]), c.quantum)
        else:
            outer, inner = c.path
            sub = changes.get(outer, getattr(message, outer))
            if sub is not None:
                changes[outer] = msgspec.structs.replace(
                    sub, **{inner: _quantize(getattr(sub, inner), c.quantum)}
                )
    if not changes:
        return message
    return msgspec.structs.replace(message, **changes)
