"""A mid-size hunt's Python passes on both cores: routing the lines (`text_lines`), reading the kept
ones and counting the rules' matches (`text_scan`), each done over half the text by this process and
by the `hunt` command's helper process (`helper`).

These passes hold the interpreter lock, so a second thread could not share them; a second process can.
Counts add up across halves, because each is a sum over events; a rule a half's gate values rule out
matches none of that half's events, so each half may drop its own. When either half cannot answer in
Python (too many lines kept, a value Python cannot vouch for, a rule without a Python flag), both
halves' kept lines go to DuckDB as one routed input; when a half's routing gives up, DuckDB reads
everything.

The routing of one process's lines (`route`) is also what a hunt on one core does (`hunt_lines`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from mantissa_log.lake import sql
from mantissa_log.lake.detect.helper import Pieces, Spans, take_helper
from mantissa_log.lake.detect.pending import PendingDatabase
from mantissa_log.lake.detect.text_events import Unsure, line_events
from mantissa_log.lake.detect.text_gates import files_gate_values, gate_reads, passing_gates
from mantissa_log.lake.detect.text_lines import Router
from mantissa_log.lake.detect.text_scan import FileEvents, text_counts
from mantissa_log.lake.detect.tiny import ROUTED_PIECE, ROUTED_READ_BYTES
from mantissa_log.sigma.compiled import CompiledRule

Counts = dict[tuple[int, int], int]
Texts = list[tuple[int, str]]  # (file id, text)


class HalfOrder(NamedTuple):
    """The helper's half: where its files' bytes lie in the memory it shares (`helper.Helper.share`),
    and the rules (with their positions in the hunt)."""

    spans: Spans
    rules: list[tuple[int, CompiledRule]]
    envelope: str | None
    structure: dict[str, Any]


class HalfAnswer(NamedTuple):
    counts: Counts | None  # None: too many lines kept, or Python cannot vouch for the counts
    holding: frozenset[int] | None  # positions of the rules some kept line may match; None: routing gave up


# What one half reads in Python at most: the kept lines beyond go to DuckDB, as on one core beyond
# ROUTED_READ_BYTES (a half reads its share in the same time as one core its whole).
HALF_READ_BYTES = ROUTED_READ_BYTES


class Halves(NamedTuple):
    """What the two halves found. `counts`: the answer, when both could give theirs in Python.
    Else `kept`: each file's lines some rule may match, for DuckDB, and `holding`: the positions of the
    rules whose gates may hold for one of them; both None when the routing gave up."""

    counts: Counts | None
    kept: Texts | None
    holding: frozenset[int] | None


def hunt_in_halves(
    pieces: Pieces,
    rules: list[tuple[int, CompiledRule]],
    envelope: str | None,
    structure: dict[str, Any],
    database: PendingDatabase,
) -> Halves | None:
    """These files' lines (`pieces`: each file's UTF-8 bytes) hunted by this process and the helper
    (`helper.take_helper`), half each. None when they could not be (no helper, one line only, not
    UTF-8, the helper failed): the caller then does it all on one core."""
    helper = take_helper()
    if helper is None:
        return None
    try:
        first, second = _split(pieces)
        router = Router.of([rule.gates for _, rule in rules], structure)
        if not first or not second or router is None:
            return None
        spans = helper.share(second)
        if spans is None or not helper.child.order(HalfOrder(spans, rules, envelope, structure)):
            return None
        try:
            texts = [(fid, data.decode("utf-8")) for fid, data in first]
        except UnicodeDecodeError:
            return None
        mine, my_kept = _hunt_half(texts, router, rules, envelope, structure, database)
        theirs = helper.child.answer()
        if theirs is None:
            return None
        if mine.holding is None or theirs.holding is None:
            return Halves(None, None, None)
        if mine.counts is not None and theirs.counts is not None:
            return Halves(_added(mine.counts, theirs.counts), None, None)
        their_kept = helper.child.extra()
        if my_kept is None or their_kept is None:
            return None
        return Halves(None, my_kept + their_kept, mine.holding | theirs.holding)
    finally:
        helper.child.close()


def hunt_half(
    texts: Texts, rules: list[tuple[int, CompiledRule]], envelope: str | None, structure: dict[str, Any]
) -> tuple[HalfAnswer, Texts | None]:
    """The helper's half (`helper`), routed from the same gates as this process's (built here again:
    a `Router` is not sent, its regular expressions are cheaper to compile than to pickle)."""
    return _hunt_half(texts, Router.of([rule.gates for _, rule in rules], structure), rules, envelope, structure, None)


def _hunt_half(
    texts: Texts,
    router: Router | None,
    rules: list[tuple[int, CompiledRule]],
    envelope: str | None,
    structure: dict[str, Any],
    database: PendingDatabase | None,
) -> tuple[HalfAnswer, Texts | None]:
    """One half: its routing, and its counts when it can give them in Python; with its kept lines."""
    kept = None if router is None else route(texts, router, HALF_READ_BYTES, database)
    if router is None or kept is None:
        return HalfAnswer(None, None), None
    holding = frozenset(router.holding)
    if sum(len(text) for _, text in kept) > HALF_READ_BYTES:
        return HalfAnswer(None, holding), kept
    try:
        files = [(fid, list(line_events(text, envelope))) for fid, text in kept]
    except (Unsure, ValueError, RecursionError):
        return HalfAnswer(None, holding), kept
    held = [rule for position, rule in enumerate(rules) if position in holding]
    return HalfAnswer(python_counts(files, held, structure), holding), kept


def python_counts(
    files: list[FileEvents], rules: list[tuple[int, CompiledRule]], structure: dict[str, Any]
) -> Counts | None:
    """`text_counts` of the rules whose gates hold for these events' values (the others match none of
    them, and may lack a Python flag); None when Python cannot vouch for the counts."""
    reads = gate_reads(rules)
    seen = files_gate_values(files, reads, sql.needed_structure(structure, reads)) if reads else None
    if seen is not None:
        rules = passing_gates(rules, seen)
    return text_counts(files, rules, structure) if rules else {}


def route(texts: Texts, router: Router, limit: int, database: PendingDatabase | None) -> Texts | None:
    """Each file's lines some rule may match (`Router.kept`), or None when the router gives up.

    Routed a piece at a time: once the lines kept so far promise more than `limit`, the database (if
    given) is started, so that its set-up runs while the rest is routed, for the scan to come."""
    total = sum(len(text) for _, text in texts)
    routed = 0
    done = 0
    kept: Texts = []
    for fid, text in texts:
        parts: list[str] = []
        for piece in _pieces(text, ROUTED_PIECE):
            part = router.kept(piece)
            if part is None:
                return None
            parts.append(part)
            routed += len(part)
            done += len(piece)
            # A quarter over the limit: starting it spuriously (import and set-up beside the routing)
            # costs a hunt that stays in Python 30-50 ms, as much as a late start costs one that does not.
            if database is not None and not database.started and 4 * routed * total > 5 * limit * done:
                database.start()
        kept.append((fid, "\n".join(part for part in parts if part)))
    return kept


def _pieces(text: str, size: int) -> Iterator[str]:
    """`text` cut at newlines into pieces of about `size` characters."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + size)
        if end < 0:
            yield text[start:]
            return
        yield text[start:end]
        start = end + 1


def _split(pieces: Pieces) -> tuple[Pieces, Pieces]:
    """The files' bytes in two halves of about the same size, the file across the middle cut at a
    newline (in UTF-8 a newline byte is never part of another character)."""
    middle = sum(len(data) for _, data in pieces) // 2
    first: Pieces = []
    second: Pieces = []
    seen = 0
    for fid, data in pieces:
        if seen >= middle:
            second.append((fid, data))
        elif seen + len(data) <= middle:
            first.append((fid, data))
        else:
            cut = data.find(b"\n", middle - seen)
            if cut < 0:
                first.append((fid, data))
            else:
                first.append((fid, data[:cut]))
                second.append((fid, data[cut + 1 :]))
        seen += len(data)
    return first, second


def _added(one: Counts, other: Counts) -> Counts:
    total = dict(one)
    for key, count in other.items():
        total[key] = total.get(key, 0) + count
    return total
