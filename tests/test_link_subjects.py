"""NATS subject grammar: validation, matching, containment, overlap, the cached matcher."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trilink.link.subjects import (
    SubjectMatcher,
    compile_pattern,
    is_subset,
    matches,
    overlaps,
    validate_pattern,
    validate_subject,
)

BAD_SUBJECTS = [
    ("", "empty"),
    (".", "empty token"),
    ("tl.", "empty token"),
    (".tl", "empty token"),
    ("tl..JP", "empty token"),
    ("tl. JP", "whitespace"),
    ("tl.JP\t", "whitespace"),
    ("tl.JP\n.x", "whitespace"),
    ("tl.\x00", "control"),
    ("tl.*", "wildcard"),
    ("tl.>", "wildcard"),
    ("tl.J*", "mixes a wildcard"),
    ("tl.a>b", "mixes a wildcard"),
    ("x" * 300, "longer than"),
]


@pytest.mark.parametrize(("subject", "problem"), BAD_SUBJECTS)
def test_bad_subjects_are_refused_with_their_name(subject: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as info:
        validate_subject(subject)
    assert "subject" in str(info.value)


@pytest.mark.parametrize(
    "subject", ["tl", "tl.JP.tracks", "tl.release.KR.system_tracks", "a-b_c.9"]
)
def test_good_subjects(subject: str) -> None:
    assert validate_subject(subject) == subject


BAD_PATTERNS = [
    ("", "empty"),
    ("tl..>", "empty token"),
    ("tl.>.x", "last token"),
    (">.x", "last token"),
    ("tl.**", "mixes"),
    ("tl.>>", "mixes"),
    ("tl. *", "whitespace"),
]


@pytest.mark.parametrize(("pattern", "problem"), BAD_PATTERNS)
def test_bad_patterns(pattern: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as info:
        validate_pattern(pattern)
    assert repr(pattern) in str(info.value)


def test_non_string_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="expected a string"):
        validate_subject(b"tl.JP")  # type: ignore[arg-type]


MATCH_TABLE = [
    ("tl.JP.tracks", "tl.JP.tracks", True),
    ("tl.JP.tracks", "tl.JP.notices", False),
    ("tl.JP.tracks", "tl.JP.tracks.x", False),
    ("tl.*.tracks", "tl.JP.tracks", True),
    ("tl.*.tracks", "tl.release.JP.tracks", False),
    ("tl.*", "tl.JP", True),
    ("tl.*", "tl", False),
    ("tl.*", "tl.JP.tracks", False),
    ("tl.>", "tl.JP", True),
    ("tl.>", "tl.JP.tracks", True),
    ("tl.>", "tl", False),
    ("tl.>", "tlx.JP", False),
    (">", "tl", True),
    (">", "a.b.c", True),
    ("*", "tl", True),
    ("*", "tl.JP", False),
    ("*.*.>", "a.b", False),
    ("*.*.>", "a.b.c", True),
    ("tl.*.>", "tl.release.JP.alerts", True),
    ("tl.release.*.alerts", "tl.release.KR.alerts", True),
    ("tl.release.*.alerts", "tl.release.KR.notices", False),
]


@pytest.mark.parametrize(("pattern", "subject", "expected"), MATCH_TABLE)
def test_matches_table(pattern: str, subject: str, expected: bool) -> None:
    assert matches(pattern, subject) is expected
    assert compile_pattern(pattern)(subject) is expected


SUBSET_TABLE = [
    ("tl.release.JP.alerts", "tl.release.JP.>", True),
    ("tl.release.JP.>", "tl.release.JP.>", True),
    ("tl.release.JP.*", "tl.release.JP.>", True),
    ("tl.release.*.alerts", "tl.release.JP.>", False),
    ("tl.release.>", "tl.release.JP.>", False),
    (">", "tl.release.JP.>", False),
    ("tl.release.JP", "tl.release.JP.>", False),
    ("tl.JP.tracks", "tl.*.tracks", True),
    ("tl.*.tracks", "tl.JP.tracks", False),
    ("tl.>", ">", True),
    ("a.*", "a.*", True),
    ("a.>", "a.*", False),
]


@pytest.mark.parametrize(("inner", "outer", "expected"), SUBSET_TABLE)
def test_is_subset_table(inner: str, outer: str, expected: bool) -> None:
    assert is_subset(inner, outer) is expected


OVERLAP_TABLE = [
    ("tl.JP.>", "tl.KR.>", False),
    ("tl.JP.>", "tl.*.tracks", True),
    ("tl.release.JP.>", "tl.JP.>", False),
    (">", "a", True),
    ("a.*", "a", False),
    ("a.*", "a.b.c", False),
    ("a.>", "a.b.c", True),
    ("*.b", "a.*", True),
]


@pytest.mark.parametrize(("a", "b", "expected"), OVERLAP_TABLE)
def test_overlaps_table(a: str, b: str, expected: bool) -> None:
    assert overlaps(a, b) is expected
    assert overlaps(b, a) is expected


_token = st.sampled_from(["tl", "JP", "KR", "release", "tracks", "x"])
_pattern_token = st.sampled_from(["tl", "JP", "KR", "release", "tracks", "x", "*"])


@st.composite
def _patterns(draw: st.DrawFn) -> str:
    tokens = draw(st.lists(_pattern_token, min_size=1, max_size=4))
    if draw(st.booleans()):
        tokens.append(">")
    return ".".join(tokens)


@settings(max_examples=300, deadline=None)
@given(pattern=_patterns(), tokens=st.lists(_token, min_size=1, max_size=6))
def test_compiled_matcher_agrees_with_matches_and_subset_implies_match(
    pattern: str, tokens: list[str]
) -> None:
    subject = ".".join(tokens)
    expected = matches(pattern, subject)
    assert compile_pattern(pattern)(subject) is expected
    # a concrete subject is its own pattern: subset <=> match
    assert is_subset(subject, pattern) is expected
    assert overlaps(subject, pattern) is expected


def test_subject_matcher_caches_and_invalidates() -> None:
    m: SubjectMatcher[str] = SubjectMatcher()
    m.add("tl.JP.>", "hub")
    m.add("tl.*.tracks", "any-tracks")
    assert m.lookup("tl.JP.tracks") == ("hub", "any-tracks")
    assert m.lookup("tl.KR.tracks") == ("any-tracks",)
    m.add("tl.KR.tracks", "kr")
    assert m.lookup("tl.KR.tracks") == ("any-tracks", "kr")
    m.remove("any-tracks")
    assert m.lookup("tl.KR.tracks") == ("kr",)
    assert not m.any_match("tl.US.status")
    assert len(m) == 2
