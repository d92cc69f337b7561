"""A text every match of a regular expression must contain, for a rule's gate (`sigma.gates`).

A Sigma `re` test is `regexp_matches(<leaf>, '<regex>')`, an unanchored search. When the regex is a
plain sequence (no alternation at its top level), each run of literal characters in it that no
quantifier makes optional is in every match, so `lower(<leaf>)` must contain the run lower-cased:
a gate test `contains` (necessary, not sufficient: the gate may keep a rule, never drop one that
matches). The walk is deliberately narrow, and gives no needle (None) on anything it does not know
to read the same way in RE2 (DuckDB's engine) and in Sigma's dialect:

- `|` outside a group, `(?` (inline flags: verbose mode would make spaces meaningless), an escape
  with arguments (`\\x41`, `\\p{L}`, octal digits) or an unknown one;
- a group or a character class is skipped whole (its content may be optional or a choice);
- `*`, `?` and `{m,n}` make the character before them optional: it leaves the run; `+` keeps it;
- `.`, `^`, `$` and the one-letter classes (`\\d`, `\\w`, `\\s`, `\\b`, their negations) end a run.
"""

from __future__ import annotations

# Escapes of one letter that stand for a class or an assertion and take no argument.
_CLASS_ESCAPES = frozenset("dDwWsSbBAz")
# Needles shorter than this prune too little to be worth a gate test.
MIN_NEEDLE = 3


def regex_needle(pattern: str) -> str | None:
    """The longest lower-cased ASCII run every match of `pattern` contains, or None (see above)."""
    runs = _required_runs(pattern)
    if runs is None:
        return None
    best = max((run for run in runs if run.isascii()), key=len, default="")
    return best.lower() if len(best) >= MIN_NEEDLE else None


def _required_runs(pattern: str) -> list[str] | None:
    runs: list[str] = []
    run: list[str] = []

    def cut() -> None:
        if run:
            runs.append("".join(run))
            run.clear()

    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char == "\\":
            if position + 1 >= len(pattern):
                return None
            escaped = pattern[position + 1]
            position += 2
            if escaped.isalnum() or escaped == "_":
                if escaped not in _CLASS_ESCAPES:
                    return None  # \x41, \p{L}, \0, \Q...: arguments or meanings this walk does not read
                cut()
            else:
                run.append(escaped)  # an escaped punctuation character stands for itself
            continue
        if char in "*?{":
            if run:
                run.pop()  # the character before is optional
            cut()
            if char == "{":
                end = pattern.find("}", position)
                if end < 0:
                    return None
                position = end + 1
            else:
                position += 1
            continue
        if char == "+":
            cut()  # the character before is there at least once; what follows is another run
            position += 1
            continue
        if char == "|":
            return None  # a choice at the top level: no text is in every match
        if char == "(":
            if pattern.startswith("(?", position):
                return None
            group_end = _group_end(pattern, position)
            if group_end is None:
                return None
            cut()
            position = group_end
            continue
        if char == "[":
            class_end = _class_end(pattern, position)
            if class_end is None:
                return None
            cut()
            position = class_end
            continue
        if char in ".^$)]}":
            cut()
            position += 1
            continue
        run.append(char)
        position += 1
    cut()
    return runs


def _group_end(pattern: str, start: int) -> int | None:
    """The position just after the `)` closing the group opened at `start` (escapes and classes inside
    skipped), or None when it is not closed."""
    depth = 0
    position = start
    while position < len(pattern):
        char = pattern[position]
        if char == "\\":
            position += 2
            continue
        if char == "[":
            end = _class_end(pattern, position)
            if end is None:
                return None
            position = end
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return position + 1
        position += 1
    return None


def _class_end(pattern: str, start: int) -> int | None:
    """The position just after the `]` closing the class opened at `start` (a `]` first in the class,
    after an optional `^`, is a member), or None when it is not closed."""
    position = start + 1
    if pattern.startswith("^", position):
        position += 1
    if pattern.startswith("]", position):
        position += 1
    while position < len(pattern):
        char = pattern[position]
        if char == "\\":
            position += 2
            continue
        if char == "]":
            return position + 1
        position += 1
    return None
