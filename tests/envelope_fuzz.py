"""Bad envelopes for the hub's fuzz tests (in process and over NATS): one Hypothesis
strategy and one builder, so both tests throw the same things at the hub."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st

from trilink.link.messages import MAX_MESSAGE_BYTES

BAD = st.one_of(
    st.tuples(st.just("truncate"), st.integers(min_value=0, max_value=100_000)),
    st.tuples(st.just("flip"), st.integers(min_value=0, max_value=10_000_000)),
    st.tuples(st.just("random"), st.binary(max_size=400)),
    st.tuples(st.just("replay"), st.just(0)),
    st.tuples(st.just("forged"), st.just(0)),
    st.tuples(st.just("oversized"), st.just(0)),
)
"""One bad envelope: (kind, argument)."""


def bad_blobs(
    bad: list[tuple[str, object]],
    template: bytes,
    last_good: bytes | None,
    forged: Callable[[], bytes],
) -> list[bytes]:
    """The bytes of each drawn bad envelope: truncations and bit flips of ``template`` (a
    valid envelope), random bytes, a replay of ``last_good``, an envelope ``forged``
    with the wrong key, or one over the size limit."""
    out: list[bytes] = []
    for kind, arg in bad:
        if kind == "truncate":
            out.append(template[: int(arg) % len(template)])  # type: ignore[call-overload]
        elif kind == "flip":
            b = bytearray(template)
            bit = int(arg) % (8 * len(b))  # type: ignore[call-overload]
            b[bit // 8] ^= 1 << (bit % 8)
            out.append(bytes(b))
        elif kind == "random":
            out.append(bytes(arg))  # type: ignore[arg-type]
        elif kind == "replay":
            out.append(last_good if last_good is not None else template[:10])
        elif kind == "forged":
            out.append(forged())
        else:
            out.append(b"\x92" * (MAX_MESSAGE_BYTES + 1))
    return out
