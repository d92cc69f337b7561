"""The lake: Parquet files per source, partitioned by ingest hour, written and read with DuckDB.

Layout: `<root>/source=<name>/date=YYYY-MM-DD/hour=HH/part-<ingest ts>-<uuid>.parquet` with the
columns of docs/DETECTION.md ("Events at rest"). The `json` source has no structure, so its files
have no `event` column (DuckDB has no empty STRUCT; its rules read fields from `raw`).

Writes: each ingest call stamps one ingest time on all its rows, derives `event` with
`json_transform` against the source's explicit structure (no schema sampling: late keys are never
dropped), and COPYs to hidden temporary files that are renamed into place only once every chunk is
written. `ingest` takes parsed events (their raw texts cross into DuckDB as list parameters, one
conversion, no per-row statements); `ingest_file` lets DuckDB read a file of JSON lines itself
(`lake.native`: about 25 times faster than parsing in Python) and falls back to the parsers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import duckdb

from mantissa_log.clock import utc_now
from mantissa_log.domain.log_sources import SOURCE_NAMES, SOURCES, LogSource
from mantissa_log.errors import StorageFull, StoreError, ValidationFailed, is_no_room
from mantissa_log.lake import halved_copy, maintenance, native, partitions, sql
from mantissa_log.lake.dedup import EventIndex, IndexSession
from mantissa_log.lake.fields import EPOCH
from mantissa_log.lake.guard import guarded_connection
from mantissa_log.lake.inflight import InFlight
from mantissa_log.lake.ingest_files import IngestFiles
from mantissa_log.lake.model import DEFAULT_LIMITS, IngestLimits, ParsedEvent, ParseResult, Rejection
from mantissa_log.lake.parsers import stream
from mantissa_log.lake.parsers.jsonsource import JsonSourceParser
from mantissa_log.lake.reader import GZIP_MAGIC
from mantissa_log.lake.results import ColumnInfo, IngestResult, SourceInfo
from mantissa_log.lake.upload_groups import GROUP_MAX_BYTES, WaitingUpload, kept_per_part, take_group

T = TypeVar("T")
ROWS_PER_FILE = 200_000
# Row groups of the native ingest: 25k rows write a 1M-event ingest ~0.6 s faster than DuckDB's default
# 122,880 and scan about as fast (0.80 s against 0.73 s for all AWS rules over 1M events).
_ROW_GROUP_ROWS = 25_000
_MICRO = timedelta(microseconds=1)
_HOUR = timedelta(hours=1)
# An event re-ingested within this long after it was stored is a duplicate (MANTISSA_DEDUP_HORIZON_SECONDS).
DEDUP_HORIZON = timedelta(days=7)


def as_utc(moment: datetime) -> datetime:
    """Aware UTC (naive input is taken to be UTC already)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _hour_floor(moment: datetime) -> datetime:
    return as_utc(moment).replace(minute=0, second=0, microsecond=0)


# A chunk (one Parquet file) also ends past this many bytes of event text: what an ingest holds
# at once stays bounded however small its events are.
CHUNK_BYTES = 32 << 20


def _chunks(events: Iterable[ParsedEvent], size: int) -> Iterator[list[ParsedEvent]]:
    chunk: list[ParsedEvent] = []
    held = 0
    for event in events:
        chunk.append(event)
        held += len(event.raw)
        if len(chunk) >= size or held >= CHUNK_BYTES:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


class LogLake:
    # Small uploads of one source arriving together share one write (`_grouped`). A lake whose
    # every ingest commits under its own marker and manifest elsewhere (S3) turns this off.
    group_commits = True

    def __init__(
        self,
        root: Path,
        *,
        rows_per_file: int = ROWS_PER_FILE,
        dedup_horizon: timedelta = DEDUP_HORIZON,
        limits: IngestLimits = DEFAULT_LIMITS,
    ) -> None:
        self.root = Path(root)
        self.rows_per_file = rows_per_file
        self.limits = limits
        self.inflight = InFlight(self.root / "_inflight")
        self.index = EventIndex(self.root / "_ids", dedup_horizon)
        self._database: tuple[int, duckdb.DuckDBPyConnection] | None = None  # (pid, database)
        self._database_lock = threading.Lock()
        # Group commit of small ingests (`_grouped`): the calls waiting per source, and whose turn it is.
        self._groups: dict[str, list[WaitingUpload]] = {}
        self._group_turns: dict[str, threading.Lock] = {}
        self._groups_lock = threading.Lock()

    def _ingest_connection(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own for one ingest, on this lake's one in-memory DuckDB database.

        Opening an in-memory database costs about 40 ms, half the CPU of a 50-event ingest; a
        cursor on a shared one about 1 ms. Every table an ingest makes is TEMP, so it belongs to
        its cursor: concurrent ingests never see each other's. A forked child opens its own.
        """
        with self._database_lock:
            if self._database is None or self._database[0] != os.getpid():
                self._database = (os.getpid(), duckdb.connect(":memory:"))
            return self._database[1].cursor()

    # ---- writing

    def ingest(
        self,
        source: str,
        parsed: ParseResult | Iterable[ParsedEvent],
        *,
        ingest_time: datetime | None = None,
    ) -> IngestResult:
        """Store events as Parquet: one file per `rows_per_file` events, all visible at once.

        `ingest_time` defaults to now; pass one only for tests and backfills (a time at or below a
        rule's watermark is never scanned by that rule). No file is written for zero events.
        """
        spec = _spec(source)
        if isinstance(parsed, ParseResult) and parsed.source != source:
            raise ValidationFailed(f"events parsed as '{parsed.source}' cannot be stored as '{source}'", field="source")
        events = parsed.events if isinstance(parsed, ParseResult) else parsed
        started = time.perf_counter()
        with _no_room(), self._files(source, ingest_time) as (files, dedup):
            for chunk in _chunks(events, self.rows_per_file):
                # The offset (for error messages) is the position of the chunk's first event.
                self._write(files, dedup, spec, chunk, files.rows + files.duplicates)
        if not isinstance(parsed, ParseResult):
            return files.result(started)
        return files.result(
            started, rejected=tuple(parsed.rejected), repaired=parsed.repaired, rejected_total=parsed.rejected_total
        )

    def _grouped(self, spec: LogSource, chunk: list[ParsedEvent], started: float) -> IngestResult:
        """Store one chunk as part of a group: the first caller to get the source's writer turn
        writes every chunk waiting then (in arrival order, at most `rows_per_file` events) in one
        dedup session, one Parquet file, one publish and one index commit; the others find their
        answer done. Deduplication is as if they had come one after the other in that order.
        A group that fails is written again one call at a time, so each gets its own answer.
        """
        waiting = WaitingUpload(chunk)
        with self._groups_lock:
            queue = self._groups.setdefault(spec.name, [])
            queue.append(waiting)
            turn = self._group_turns.setdefault(spec.name, threading.Lock())
        with turn:
            while not waiting.done:
                with self._groups_lock:
                    group = take_group(queue, self.rows_per_file)
                self._write_group(spec, group)
        if waiting.error is not None:
            raise waiting.error
        if waiting.result is None:  # the writer was interrupted (BaseException) before it got to this call
            raise StoreError("the ingest was interrupted; nothing of it was stored")
        return dataclasses.replace(waiting.result, seconds=time.perf_counter() - started)

    def _write_group(self, spec: LogSource, group: list[WaitingUpload]) -> None:
        try:
            with _no_room(), self._files(spec.name, None) as (files, dedup):
                combined = [event for member in group for event in member.chunk]
                kept = self._write(files, dedup, spec, combined, 0, parts=[len(m.chunk) for m in group])
            shared = files.result(0.0)
            for member, rows in zip(group, kept, strict=True):
                # Each call names the group's file when it holds some of its events (as a call of its own would).
                mine = shared if rows else dataclasses.replace(shared, files=(), bytes_written=0)
                member.result = dataclasses.replace(mine, rows=rows, duplicates=len(member.chunk) - rows)
        except Exception as exc:
            if len(group) == 1:
                group[0].error = exc
                return
            for member in group:  # each on its own: a bad one fails alone, nothing of the group stays
                try:
                    with _no_room(), self._files(spec.name, None) as (files, dedup):
                        self._write(files, dedup, spec, member.chunk, 0)
                    member.result = files.result(0.0)
                except Exception as exc:
                    member.error = exc
        finally:
            for member in group:
                member.done = True

    def ingest_bytes(
        self, source: str, data: bytes, *, filename: str = "", ingest_time: datetime | None = None
    ) -> IngestResult:
        """Parse an upload and store its events as they are read, in chunks: never all of them at once.

        The reader's caps (`self.limits`: decompressed size, line length, event size) apply; what
        they refuse is reported by line like any other rejection, and the rest is kept.
        """
        spec = _spec(source)
        result = ParseResult(source, filename=filename)
        events = stream(source, data, result, self.limits)
        if self.group_commits and ingest_time is None and len(data) <= GROUP_MAX_BYTES and data[:2] != GZIP_MAGIC:
            # A small upload (its events held at once are bounded by its size): parsed before its
            # turn, and written with the other small uploads of this source waiting at that moment.
            started = time.perf_counter()
            chunks = list(_chunks(events, self.rows_per_file))
            if len(chunks) == 1:
                stored = self._grouped(spec, chunks[0], started)
            else:
                stored = self.ingest(source, itertools.chain.from_iterable(chunks))
        else:
            stored = self.ingest(source, events, ingest_time=ingest_time)
        return dataclasses.replace(
            stored, rejected=tuple(result.rejected), repaired=result.repaired, rejected_total=result.rejected_total
        )

    def ingest_file(self, source: str, path: Path, *, ingest_time: datetime | None = None) -> IngestResult:
        """Store a file of events (gzipped or not): DuckDB reads JSON lines itself, else parse + ingest.

        The native way (`lake.native`) is taken for the JSON sources when the file is JSON lines in
        UTF-8; records DuckDB cannot vouch for are read by the source's Python parser, so events,
        repairs and rejections (line, index, reason) are the Python path's. Anything else (vpcflow,
        JSON arrays or multi-line documents, invalid UTF-8, damaged gzip) is read by `parse` whole.
        """
        spec = _spec(source)
        parser = native.native_parser(source)
        if parser is not None:
            try:
                with _no_room():
                    return self._ingest_native(spec, parser, Path(path), ingest_time)
            except native.NotNative:
                pass  # nothing was written: read it the Python way
        return self.ingest_bytes(source, Path(path).read_bytes(), filename=str(path), ingest_time=ingest_time)

    def _ingest_native(
        self, spec: LogSource, parser: JsonSourceParser, path: Path, ingest_time: datetime | None
    ) -> IngestResult:
        started = time.perf_counter()
        rejected: list[Rejection] = []
        uncounted = 0
        repaired = 0
        first_line: int | None = None
        staging = self.root / "_staging"
        before = os.stat(path)
        with (
            native.staged(path, staging, self.limits) as staged,
            self._files(spec.name, ingest_time) as (files, dedup),
        ):
            rejected += staged.rejected
            for piece in staged.pieces:
                try:
                    outcome = native.read_piece(files.connection, spec.name, parser, piece, first_line, self.limits)
                except duckdb.Error as exc:
                    raise native.NotNative(f"DuckDB cannot read it: {exc}") from exc
                first_line = outcome.first_line
                rejected += outcome.rejected
                uncounted += outcome.uncounted
                repaired += outcome.repaired
                if outcome.rows:
                    self._store_rows(files, dedup, spec, outcome.relation, outcome.rows, path)
                native.drop_piece(files.connection)
            _unchanged_while_read(path, before)
        rejected.sort(key=lambda r: (r.line or 0, -1 if r.index is None else r.index))
        return files.result(
            started, rejected=tuple(rejected), repaired=repaired, native=True, rejected_total=len(rejected) + uncounted
        )

    def _store_rows(
        self, files: IngestFiles, dedup: IndexSession, spec: LogSource, relation: str, rows: int, path: Path
    ) -> None:
        """The rows of a piece (n, pos, raw, t, event_id) not seen before, into the ingest's files."""
        with contextlib.ExitStack() as stack:
            shared = None
            if self._halved(rows):
                # Written in halves by two cursors, which need the rows in a table they see: made now,
                # the dedup filter reads it too, rather than the file again.
                try:
                    shared = stack.enter_context(halved_copy.shared_rows(files.connection, relation))
                except duckdb.Error as exc:
                    raise StoreError(f"cannot write {path.name}: {exc}") from exc
                relation = shared
            fresh = dedup.filter(relation, "epoch_us(t::TIMESTAMP)")
            files.duplicates += fresh.duplicates
            if fresh.kept:
                self._copy_rows(files, spec, fresh.table, fresh.kept, path, shared=fresh.table == shared)
            files.rows += fresh.kept
            if fresh.owned:
                files.connection.execute(f"DROP TABLE {fresh.table}")

    def _halved(self, rows: int) -> bool:
        """Whether `rows` rows are written in two halves at once (files cut by DuckDB, one row group)."""
        return self.rows_per_file >= 2 * _ROW_GROUP_ROWS and halved_copy.applies(rows)

    def _copy_rows(
        self, files: IngestFiles, spec: LogSource, relation: str, rows: int, path: Path, *, shared: bool = False
    ) -> None:
        """COPY a relation of (n, pos, raw, t, event_id), in input order, into files of `rows_per_file` rows.

        `shared`: the relation is a `halved_copy.shared_rows` table already."""
        per_file = self.rows_per_file
        try:
            if per_file < 2 * _ROW_GROUP_ROWS:
                # DuckDB's row groups are multiples of 2048 rows: small files are cut one COPY each.
                for start in range(0, rows, per_file):
                    part = f"(SELECT * FROM {relation} ORDER BY n, pos LIMIT {per_file} OFFSET {start})"  # noqa: S608
                    files.connection.execute(sql.copy_rows(spec, part, files.stamp, files.target()))
            else:
                # One COPY cutting the files itself: parallel, far faster than one COPY per file.
                groups = -(-per_file // _ROW_GROUP_ROWS)
                group_rows = -(-per_file // groups)
                folders: list[Path] = []

                def statement_for(part: str) -> str:
                    folders.append(files.folder())  # named in the order of the parts: the files' order
                    return sql.copy_rows(
                        spec, part, files.stamp, folders[-1], row_group_rows=group_rows, groups_per_file=groups
                    )

                if self._halved(rows):
                    # One row group is written by one thread: two halves at once (see `lake.halved_copy`).
                    with contextlib.ExitStack() as stack:
                        table = (
                            relation
                            if shared
                            else stack.enter_context(halved_copy.shared_rows(files.connection, relation))
                        )
                        halved_copy.copy_in_halves(files.connection, table, rows, statement_for)
                else:
                    files.connection.execute(statement_for(relation))
                for folder in folders:
                    files.adopt(folder)
        except (duckdb.Error, UnicodeError) as exc:
            raise StoreError(f"cannot write {path.name}: {exc}") from exc

    @contextlib.contextmanager
    def _files(self, source: str, ingest_time: datetime | None) -> Iterator[tuple[IngestFiles, IndexSession]]:
        """An ingest's Parquet files: written under temporary names, renamed into place together.

        Order: the source's dedup session (exclusive) first, then the in-flight marker (so waiting
        for another ingest never holds detection back); the events' keys join the index only once
        their files are published. On any error the temporary files are removed.
        """
        connection = self._ingest_connection()
        try:
            with self.index.session(source, connection, utc_now()) as dedup:
                with self.inflight.hold(None if ingest_time is None else as_utc(ingest_time)) as stamp:
                    files = IngestFiles(source, stamp, self._partition(source, stamp), connection)
                    try:
                        yield files, dedup
                        files.publish()
                        self._published(source, stamp, [final for _, final in files.written])
                    except BaseException:
                        files.discard()
                        raise
                dedup.commit()
        finally:
            connection.close()

    def _published(self, source: str, stamp: datetime, paths: list[Path]) -> None:
        """Called once an ingest's files are in place, before its events join the dedup index;
        a lake that keeps its files elsewhere (S3) copies them out here. Raising undoes the ingest."""

    def _write(
        self,
        files: IngestFiles,
        dedup: IndexSession,
        spec: LogSource,
        chunk: list[ParsedEvent],
        offset: int,
        parts: list[int] | None = None,
    ) -> list[int]:
        """Write one chunk, without the events already stored; `offset` is the position of its first
        event in the whole ingest (for errors). `parts`: the sizes of consecutive parts of the chunk
        (a group's calls); returns the events stored of each (of the whole chunk without `parts`)."""
        connection = files.connection
        raws = [event.raw for event in chunk]
        # Parsers only produce objects; a hand-made ParsedEvent holding an array would store a NULL struct.
        not_object = next((n for n, raw in enumerate(raws) if not raw.startswith("{")), None)
        if not_object is not None:
            raise ValidationFailed(f"event {offset + not_object}: raw text is not a JSON object")
        times = [None if event.event_time is None else (as_utc(event.event_time) - EPOCH) // _MICRO for event in chunk]
        ids = [event.event_id for event in chunk]
        target: Path | None = None
        try:
            # Typed list parameters cross into DuckDB in one conversion each (no per-row INSERTs).
            connection.execute(
                "CREATE OR REPLACE TEMP TABLE batch AS SELECT unnest($1::VARCHAR[]) AS raw, "
                "unnest($2::BIGINT[]) AS t, unnest($3::VARCHAR[]) AS event_id, "
                "unnest(range(len($1::VARCHAR[]))) AS n, 0 AS pos",
                [raws, times, ids],
            )
            fresh = dedup.filter("batch", "t")
            files.duplicates += fresh.duplicates
            files.rows += fresh.kept
            kept = kept_per_part(connection, fresh, parts or [len(chunk)])
            if fresh.kept:
                target = files.target()
                connection.execute(sql.copy_batch(spec, fresh.table, files.stamp, target))
            if fresh.owned:
                connection.execute(f"DROP TABLE {fresh.table}")
            return kept
        except duckdb.InvalidInputException as exc:
            # Invalid JSON fails the whole statement: find which event it was, if that was the cause.
            bad = _first_invalid(connection)
            if bad is not None:
                raise ValidationFailed(f"event {offset + bad}: raw text is not a JSON object") from exc
            raise StoreError(f"cannot write {target.name if target else 'a batch'}: {exc}") from exc
        except (duckdb.Error, UnicodeError) as exc:
            raise StoreError(f"cannot write {target.name if target else 'a batch'}: {exc}") from exc
        finally:
            connection.execute("DROP TABLE IF EXISTS batch")

    def _partition(self, source: str, stamp: datetime) -> Path:
        return self.root / f"source={source}" / f"date={stamp:%Y-%m-%d}" / f"hour={stamp:%H}"

    # ---- reading

    def files(self, source: str, since: datetime | None = None, until: datetime | None = None) -> list[Path]:
        """The event files of the partitions that overlap the ingest-time window `(since, until]`."""
        _spec(source)
        low = None if since is None else _hour_floor(since)
        high = None if until is None else _hour_floor(until)
        found: list[Path] = []
        for start, hour_path in partitions.hours(self.root, source):
            if (low and start < low) or (high and start > high):
                continue
            found.extend(partitions.event_files(hour_path))
        return sorted(found)

    def relation_sql(self, source: str, since: datetime | None = None, until: datetime | None = None) -> str:
        """SQL text for `FROM (...)`: the source's events with `since < ingest_time <= until`.

        The file list is taken now. For a detection run take `until = visible_until()` first:
        every file with an ingest time up to it exists by then, later files are outside the window.
        """
        return sql.relation(_spec(source), self.files(source, since, until), since, until)

    def visible_until(self, now: datetime | None = None) -> datetime:
        """The upper end to use for an ingest-time window: below every ingest still running."""
        return self.inflight.visible_until(None if now is None else as_utc(now))

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A fresh in-memory DuckDB connection for our own queries (use `relation_sql` in FROM)."""
        return duckdb.connect(":memory:")

    def connect_guarded(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        sources: Iterable[str] | None = None,
        memory_limit_mb: int | None = None,
        threads: int | None = None,
        top_level_fields: bool = False,
    ) -> duckdb.DuckDBPyConnection:
        """A connection for user-supplied SQL: one view per source (or per source of `sources`: a view
        reads every file's footer when it is created), no other file access. `top_level_fields`: the
        event's top-level keys are columns too (`eventName` as well as `event.eventName`).

        See `lake.guard`: run user SQL only after `guard.ensure_select(connection, text)`.
        """
        names = SOURCE_NAMES if sources is None else tuple(_spec(name).name for name in sources)
        views: dict[str, str] = {}
        for name in names:
            relation = self.relation_sql(name, since, until)
            views[name] = sql.with_top_level_fields(SOURCES[name], relation) if top_level_fields else relation
        allowed = [path for name in names for path in self.files(name, since, until)]
        return guarded_connection(views, allowed, memory_limit_mb=memory_limit_mb, threads=threads)

    def sources(self) -> list[SourceInfo]:
        """Every known source with its columns and what it holds (zero rows when nothing yet)."""
        infos = []
        with self.connect() as connection:
            for name in SOURCE_NAMES:
                files = self.files(name)
                relation = self.relation_sql(name)
                described = connection.execute(f"DESCRIBE {relation}").fetchall()
                columns = tuple(ColumnInfo(str(row[0]), str(row[1])) for row in described)
                stats: tuple[object, ...] = (0, None, None, None, None)
                if files:
                    found = connection.execute(sql.summary(relation)).fetchone()
                    stats = found if found else stats
                count, min_event, max_event, min_ingest, max_ingest = stats
                infos.append(
                    SourceInfo(
                        name=name,
                        columns=columns,
                        rows=int(count) if isinstance(count, int) else 0,
                        files=len(files),
                        bytes=sum(path.stat().st_size for path in files),
                        min_event_time=_aware(min_event),
                        max_event_time=_aware(max_event),
                        min_ingest_time=_aware(min_ingest),
                        max_ingest_time=_aware(max_ingest),
                        quarantined=maintenance.quarantined(self.root, name),
                    )
                )
        return infos

    def quarantine_unreadable(self, source: str, since: datetime | None, until: datetime | None) -> list[Path]:
        """Move the window's unreadable files aside (see `lake.maintenance`); returns where they went."""
        return maintenance.quarantine_unreadable(self.root, self.files(source, since, until))

    def maintain(self, now: datetime | None = None) -> maintenance.MaintenanceReport:
        """One housekeeping pass: orphans of killed ingests, compaction, retiring replaced files."""
        moment = now or utc_now()
        return maintenance.MaintenanceReport(
            orphans_removed=maintenance.clean_orphans(self.root),
            partitions_compacted=maintenance.compact(self.root, moment),
            files_retired=maintenance.retire_replaced(self.root),
        )

    def data_scanned_mb(self, source: str, since: datetime | None = None, until: datetime | None = None) -> float:
        """Megabytes (10^6 bytes) of the Parquet files a query over the window reads."""
        return sum(path.stat().st_size for path in self.files(source, since, until)) / 1_000_000


@contextlib.contextmanager
def _no_room() -> Iterator[None]:
    """A full disk (or quota) while ingesting says so, instead of a generic storage failure.
    Nothing partial stays behind: the ingest's temporary files are removed on the way out."""
    try:
        yield
    except StorageFull:
        raise
    except (OSError, StoreError, duckdb.Error) as exc:
        if is_no_room(exc):
            raise StorageFull("the log lake's disk is full") from exc
        raise


def _unchanged_while_read(path: Path, before: os.stat_result) -> None:
    """Refuse (nothing is published) an input rewritten while it was read: the native ingest reads a
    file it did not copy twice, the lines' decisions and then their text, matched by position. Lines
    appended meanwhile are fine (the second read's extra lines have no decision and are left out)."""
    after = os.stat(path)
    appended = after.st_size > before.st_size
    untouched = after.st_size == before.st_size and after.st_mtime_ns == before.st_mtime_ns
    if after.st_ino != before.st_ino or after.st_dev != before.st_dev or not (appended or untouched):
        raise StoreError(f"{path.name} was rewritten while it was read; nothing was stored: ingest it again")


def _first_invalid(connection: duckdb.DuckDBPyConnection) -> int | None:
    """Position of the first loaded raw text that is not a JSON object (None: none, or nothing loaded)."""
    try:
        found = connection.execute(
            "SELECT min(rowid) FROM batch WHERE NOT json_valid(raw) OR json_type(raw) <> 'OBJECT'"
        ).fetchone()
    except duckdb.Error:
        return None
    return None if found is None or found[0] is None else int(found[0])


def _spec(source: str) -> LogSource:
    spec = SOURCES.get(source)
    if spec is None:
        raise ValidationFailed(f"unknown log source '{source}'; expected one of {', '.join(SOURCES)}", field="source")
    return spec


def _aware(value: object) -> datetime | None:
    return as_utc(value) if isinstance(value, datetime) else None
