"""A rule's RE2 regular expression as Python's `re` reads it, for the rules' flags in Python
(`python_flags`): only the part of RE2's syntax both read the same way is taken."""

from __future__ import annotations

import re


class Unsupported(Exception):
    """The expression uses SQL (or a regex construct) the Python flags do not evaluate."""


# The part of RE2's syntax that Python's `re` reads the same way over ASCII text without newlines:
# literals, escaped punctuation, \d \w \b and their negations, classes of those, groups `(...)` and
# `(?:...)`, leading flags (?i) (?s) (?m), `. * + ? |`, anchors, counted repeats `{n}` `{n,}` `{n,m}`.
# Refused: \s (Python's also takes \v and \x1c-\x1f), other escapes, POSIX classes ([:alpha:]),
# look-arounds and named groups, `{,n}` (RE2 reads it literally), nested class syntax.
_REGEX_PIECE = re.compile(
    r"\\[.^$*+?()\[\]{}|\\/\-dDwWbB]"  # escaped punctuation, \d \w \b and their negations
    r"|\(\?:|\((?!\?)"  # groups: (?:...) and (...), no other (? construct
    r"|\{[0-9]+(?:,[0-9]*)?\}"  # counted repeats
    r"|[.*+?|)^$]"  # operators
    r"|[ -#%-'*-Z_-z~]"  # literals: printable ASCII but $ ( ) [ \ ] ^ { | }
)
_LEADING_FLAGS = re.compile(r"\(\?[ims]+\)")


def python_regex(regex: str) -> str:
    """The regex, if Python reads it as RE2 does (see _REGEX_PIECE); else Unsupported."""
    at = 0
    while (flags := _LEADING_FLAGS.match(regex, at)) is not None:
        at = flags.end()
    while at < len(regex):
        if regex[at] == "[":
            at = _class_end(regex, at)
            continue
        piece = _REGEX_PIECE.match(regex, at)
        if piece is None:
            raise Unsupported(f"regex construct at {regex[at : at + 10]!r}")
        at = piece.end()
    try:
        re.compile(regex)
    except re.error as exc:
        raise Unsupported(str(exc)) from exc
    return regex


def _class_end(regex: str, at: int) -> int:
    """The end of the class opening at `at` (`[...]`, `[^...]`), its members checked."""
    at += 1
    if regex[at : at + 1] == "^":
        at += 1
    first = True
    while at < len(regex):
        char = regex[at]
        if char == "]" and not first:
            return at + 1
        if char == "\\":
            if regex[at + 1 : at + 2] not in set(".^$*+?()[]{}|\\/-dDwW"):
                raise Unsupported("an escape in a class")
            at += 2
        elif char == "[" or not (" " <= char <= "~"):
            raise Unsupported("nested class syntax or a character beyond ASCII in a class")
        elif regex[at : at + 2] in ("--", "&&", "~~", "||"):
            raise Unsupported("set operation syntax in a class")
        else:
            at += 1
        first = False
    raise Unsupported("an unclosed class")
