"""A regular expression's needle (`sigma.regex_needle`) is in every string the expression finds a match
in, lower-cased: a rule's gate built from it never drops an event the rule's `regexp_matches` matches."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mantissa_log.sigma.regex_needle import regex_needle

# Patterns with a needle, and the needle: literals between classes, groups, quantifiers and anchors.
WITH_NEEDLES = {
    ".+:assumed-role/aws:.+": ":assumed-role/aws:",  # the corpus' IMDS rule
    "^Get.*": "get",
    "abc?def": "def",  # `c?` is optional: `ab` and `def` are the runs, `def` the longest
    "ab+cdef": "cdef",  # `b+`: `ab` is in every match, then `cdef`
    "x*yzaw{2,3}": "yza",  # `w{2,3}`: the w leaves the run
    "(foo)?barbaz": "barbaz",
    "(a|b)cmd\\.exe": "cmd.exe",  # a choice inside a group is skipped whole
    "[a-z]+\\.exe$": ".exe",
    "\\d+-powershell-\\w+": "-powershell-",
    "[]x]Mimikatz": "mimikatz",  # a `]` first in a class is a member
    "[^]a]SekurLSA": "sekurlsa",
    "START\\.\\*\\+\\?END": "start.*+?end",  # escaped punctuation stands for itself
    "curl .*http": "curl ",
    "sh -c.*wget": "sh -c",
    "a{1}bcd": "bcd",
}
# Patterns whose every match holds no run of three characters this walk can vouch for.
WITHOUT = [
    "a|bcdef",  # a choice at the top level
    "(?i)abcdef",  # inline flags (verbose mode would make spaces meaningless)
    "\\x41bcd",  # an escape with an argument: `bcd` follows an `A` this walk does not read
    "\\p{L}xyz",
    "ab?",
    "[abc",  # not closed
    "(abc",
    "ab{2",
    "\\",
    "abc\\Qdef",
    "",
]


@pytest.mark.parametrize(("pattern", "needle"), sorted(WITH_NEEDLES.items()))
def test_the_needle_is_the_longest_run_every_match_holds(pattern: str, needle: str) -> None:
    assert regex_needle(pattern) == needle


@pytest.mark.parametrize("pattern", WITHOUT)
def test_what_the_walk_cannot_vouch_for_gives_no_needle(pattern: str) -> None:
    assert regex_needle(pattern) is None


@pytest.mark.parametrize("pattern", sorted(WITH_NEEDLES))
def test_every_string_with_a_match_contains_the_needle(pattern: str) -> None:
    needle = regex_needle(pattern)
    assert needle is not None

    # Strings holding a match somewhere (as `regexp_matches` searches), generated from the pattern.
    @settings(derandomize=True, max_examples=150, database=None, deadline=None)
    @given(st.from_regex(re.compile(pattern)))
    def check(text: str) -> None:
        assert re.search(pattern, text)
        assert needle in text.lower()

    check()
