"""NATS subject grammar: validation, matching, containment and overlap of patterns.

A *subject* is a non-empty string of tokens separated by ``.``, e.g. ``tl.JP.tracks``.
A *pattern* (what a subscription or a permission names) may also use the two NATS
wildcards, each only as a whole token:

* ``*`` matches exactly one token (``tl.*.tracks`` matches ``tl.JP.tracks``);
* ``>`` matches one or more tokens and may only be the last token (``tl.>`` matches
  ``tl.JP.tracks`` but not ``tl``).

Rules enforced here (stricter than the NATS server where it is lenient, so a subject
that passes here means the same thing in both transports): no empty token (no
leading, trailing or doubled ``.``), no whitespace or control characters, ``*`` and
``>`` never inside a longer token, at most :data:`MAX_SUBJECT_LENGTH` characters.
Concrete subjects (what a message is published on) contain no wildcard at all.

Matching is on the hot path of :class:`trilink.link.bus.InProcessBus` (every publish),
so :func:`compile_pattern` turns a pattern into a plain callable specialised to its
shape (exact string compare, prefix test, or a token compare), and
:class:`SubjectMatcher` caches per-subject results.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

__all__ = [
    "MAX_SUBJECT_LENGTH",
    "SubjectMatcher",
    "compile_pattern",
    "is_subset",
    "matches",
    "overlaps",
    "validate_pattern",
    "validate_subject",
]

MAX_SUBJECT_LENGTH = 256
"""Longest subject or pattern accepted, characters (ours are < 40; bounds cache memory)."""

_WILDCARDS = ("*", ">")


def _check_tokens(text: object, *, what: str, allow_wildcards: bool) -> tuple[str, ...]:
    if not isinstance(text, str):
        raise ValueError(f"{what} {text!r}: expected a string, got {type(text).__name__}")
    if not text:
        raise ValueError(f"{what} '': empty")
    if len(text) > MAX_SUBJECT_LENGTH:
        raise ValueError(
            f"{what} {text[:40]!r}...: {len(text)} characters, longer than {MAX_SUBJECT_LENGTH}"
        )
    for ch in text:
        if ch.isspace() or not ch.isprintable():
            raise ValueError(f"{what} {text!r}: contains whitespace or control character {ch!r}")
    tokens = tuple(text.split("."))
    last = len(tokens) - 1
    for i, tok in enumerate(tokens):
        if not tok:
            raise ValueError(f"{what} {text!r}: empty token at position {i}")
        if tok in _WILDCARDS:
            if not allow_wildcards:
                raise ValueError(
                    f"{what} {text!r}: wildcard {tok!r} at token {i} (a published subject "
                    "must be concrete)"
                )
            if tok == ">" and i != last:
                raise ValueError(f"{what} {text!r}: '>' must be the last token (found at {i})")
        elif "*" in tok or ">" in tok:
            raise ValueError(
                f"{what} {text!r}: token {tok!r} mixes a wildcard with other characters"
            )
    return tokens


def validate_subject(subject: str) -> str:
    """Return ``subject`` unchanged if it is a valid concrete subject, else raise ``ValueError``."""
    _check_tokens(subject, what="subject", allow_wildcards=False)
    return subject


def validate_pattern(pattern: str) -> str:
    """Return ``pattern`` unchanged if it is a valid subject pattern, else raise ``ValueError``."""
    _check_tokens(pattern, what="pattern", allow_wildcards=True)
    return pattern


def _match_tokens(p: tuple[str, ...], s: tuple[str, ...]) -> bool:
    n = len(p)
    if n and p[-1] == ">":
        if len(s) < n:
            return False
        n -= 1
    elif len(s) != n:
        return False
    for i in range(n):
        if p[i] != "*" and p[i] != s[i]:
            return False
    return True


def compile_pattern(pattern: str) -> Callable[[str], bool]:
    """A fast predicate ``subject -> bool`` for a validated pattern.

    The subject passed to the predicate is assumed valid (see :func:`validate_subject`);
    the bus validates once per publish. Shapes: no wildcard → string equality; only a
    trailing ``>`` after literal tokens → ``startswith(prefix + '.')``; otherwise a
    token-by-token compare.
    """
    tokens = _check_tokens(pattern, what="pattern", allow_wildcards=True)
    if "*" not in tokens and ">" not in tokens:
        return pattern.__eq__
    if tokens == (">",):
        return lambda subject: True
    if tokens[-1] == ">" and "*" not in tokens:
        prefix = pattern[:-1]  # keeps the trailing '.', so 'tl.>' never matches 'tl'
        return lambda subject: subject.startswith(prefix)

    def predicate(subject: str) -> bool:
        return _match_tokens(tokens, tuple(subject.split(".")))

    return predicate


def matches(pattern: str, subject: str) -> bool:
    """True if concrete ``subject`` matches ``pattern``. Both are validated (``ValueError``)."""
    p = _check_tokens(pattern, what="pattern", allow_wildcards=True)
    s = _check_tokens(subject, what="subject", allow_wildcards=False)
    return _match_tokens(p, s)


def is_subset(inner: str, outer: str) -> bool:
    """True if every subject matched by pattern ``inner`` is also matched by ``outer``.

    Used for permissions: a participant may subscribe to ``inner`` only if it lies
    inside one of its allowed patterns (``tl.release.JP.*`` inside ``tl.release.JP.>``;
    ``>`` inside nothing but ``>``).
    """
    a = _check_tokens(inner, what="pattern", allow_wildcards=True)
    b = _check_tokens(outer, what="pattern", allow_wildcards=True)
    for i, tb in enumerate(b):
        if tb == ">":
            return len(a) > i  # '>' covers any one-or-more remaining tokens
        if i >= len(a):
            return False
        ta = a[i]
        if ta == ">":
            return False  # inner matches arbitrarily many tokens here; outer a fixed count
        if tb == "*":
            continue
        if ta != tb:  # literal outer token: inner must be the same literal
            return False
    return len(a) == len(b)


def overlaps(a: str, b: str) -> bool:
    """True if some concrete subject matches both patterns ``a`` and ``b``."""
    ta = _check_tokens(a, what="pattern", allow_wildcards=True)
    tb = _check_tokens(b, what="pattern", allow_wildcards=True)
    for i in range(min(len(ta), len(tb))):
        x, y = ta[i], tb[i]
        if x == ">" or y == ">":
            return True
        if x != "*" and y != "*" and x != y:
            return False
    return len(ta) == len(tb)


K = TypeVar("K", bound=Hashable)


class SubjectMatcher(Generic[K]):
    """A set of ``(pattern, key)`` entries answering "which keys match this subject?".

    ``lookup`` results are cached per subject (a message bus sees few distinct
    subjects), so after the first message on a subject a lookup is one dict access.
    Adding or removing an entry clears the cache. Keys are returned in insertion order.
    """

    def __init__(self, max_cached_subjects: int = 65_536) -> None:
        self._entries: list[tuple[str, K, Callable[[str], bool]]] = []
        self._cache: dict[str, tuple[K, ...]] = {}
        self._max_cached = max_cached_subjects

    def add(self, pattern: str, key: K) -> None:
        self._entries.append((pattern, key, compile_pattern(pattern)))
        self._cache.clear()

    def remove(self, key: K) -> None:
        """Remove every entry with ``key`` (no error if there is none)."""
        self._entries = [e for e in self._entries if e[1] != key]
        self._cache.clear()

    def extend(self, entries: Iterable[tuple[str, K]]) -> None:
        for pattern, key in entries:
            self.add(pattern, key)

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, subject: str) -> tuple[K, ...]:
        """Keys whose pattern matches concrete ``subject`` (assumed valid)."""
        hit = self._cache.get(subject)
        if hit is not None:
            return hit
        found = tuple(key for _, key, pred in self._entries if pred(subject))
        if len(self._cache) >= self._max_cached:
            self._cache.clear()
        self._cache[subject] = found
        return found

    def any_match(self, subject: str) -> bool:
        return bool(self.lookup(subject))
