"""The scale-out backend: one DynamoDB table per TableSpec, through boto3's low-level client.

DynamoDB deletes expired items lazily (often days late), so every read hides items whose `ttl`
has passed and every write treats them as absent: the same view the SQLite backend gives.
Items cross this edge as plain JSON-compatible Python; Decimals never leak out.
"""

from __future__ import annotations

import decimal
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from mantissa_log.clock import SYSTEM_CLOCK, Clock
from mantissa_log.errors import Conflict, StoreError, ValidationFailed
from mantissa_log.state.backend import (
    TTL_ATTRIBUTE,
    Item,
    Key,
    Page,
    StateBackend,
    TableSpec,
    chunks,
    is_expired,
    keep,
)
from mantissa_log.state.conditions import And, Compare, Condition, Exists, NotExists, Or
from mantissa_log.state.positions import checked_start_key, position_key

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
_BATCH_ATTEMPTS = 8
# An attribute nothing ever stores: `attribute_not_exists` on it is a constant true, and
# `REMOVE` of it is a no-op that still lets UpdateItem create the item.
_NEVER = "__mantissa_never__"
_ORDERING = {"<", "<=", ">", ">="}


def to_dynamo(value: Any) -> Any:
    """JSON-compatible Python → what TypeSerializer accepts (it refuses floats)."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {k: to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    """Deserialised DynamoDB values → plain Python: integral numbers are ints, others floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value


def _serialize_value(name: str, value: Any) -> Any:
    try:
        return _SERIALIZER.serialize(to_dynamo(value))
    except (TypeError, ValueError, decimal.DecimalException):
        # The serializer's message quotes the value; name the attribute only.
        raise ValidationFailed("value cannot be stored in DynamoDB", field=name) from None


def _serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serialize_value(name, value) for name, value in item.items()}


def _deserialize(raw: Mapping[str, Any]) -> Item:
    return {name: from_dynamo(_DESERIALIZER.deserialize(value)) for name, value in raw.items()}


def _backoff(attempt: int) -> None:
    time.sleep(min(0.05 * 2**attempt, 2.0))


class _Expr:
    """Collects #name and :value placeholders so no attribute name or value is ever inlined."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._values: dict[str, Any] = {}

    def name(self, attribute: str) -> str:
        if attribute not in self._names:
            self._names[attribute] = f"#n{len(self._names)}"
        return self._names[attribute]

    def value(self, value: Any, attribute: str = "condition") -> str:
        placeholder = f":v{len(self._values)}"
        self._values[placeholder] = _serialize_value(attribute, value)
        return placeholder

    def condition(self, cond: Condition) -> str:
        if isinstance(cond, Exists):
            return f"attribute_exists({self.name(cond.attribute)})"
        if isinstance(cond, NotExists):
            return f"attribute_not_exists({self.name(cond.attribute)})"
        if isinstance(cond, And | Or):
            if not cond.parts:  # empty AND is true, empty OR is false (as in `evaluate`)
                test = "attribute_not_exists" if isinstance(cond, And) else "attribute_exists"
                return f"{test}({self.name(_NEVER)})"
            if len(cond.parts) == 1:  # "((x))" is refused as redundant parentheses
                return self.condition(cond.parts[0])
            joiner = " AND " if isinstance(cond, And) else " OR "
            return "(" + joiner.join(self.condition(part) for part in cond.parts) + ")"
        return self._compare(cond)

    def _compare(self, cond: Compare) -> str:
        # `evaluate` says a comparison with a missing attribute is false (DynamoDB says true
        # for <>), and ordering across types is false (moto answers HTTP 500): guard both.
        name = self.name(cond.attribute)
        parts = [f"attribute_exists({name})"]
        value = cond.value
        orderable = isinstance(value, str | int | float) and not isinstance(value, bool)
        if cond.op in _ORDERING and orderable:
            kind = "S" if isinstance(value, str) else "N"
            parts.append(f"attribute_type({name}, {self.value(kind)})")
        parts.append(f"{name} {cond.op} {self.value(value, cond.attribute)}")
        return "(" + " AND ".join(parts) + ")"

    def live(self, now: int) -> str:
        """True when the stored item is absent or not expired (a non-number ttl never expires)."""
        ttl = self.name(TTL_ATTRIBUTE)
        return (
            f"(attribute_not_exists({ttl}) OR NOT attribute_type({ttl}, {self.value('N')})"
            f" OR {ttl} > {self.value(now)})"
        )

    def expired(self, now: int) -> str:
        ttl = self.name(TTL_ATTRIBUTE)
        return f"(attribute_type({ttl}, {self.value('N')}) AND {ttl} <= {self.value(now)})"

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self._names:
            out["ExpressionAttributeNames"] = {p: n for n, p in self._names.items()}
        if self._values:
            out["ExpressionAttributeValues"] = dict(self._values)
        return out


class DynamoDbBackend(StateBackend):
    def __init__(
        self,
        environment: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        kms_key_id: str | None = None,
        client: Any = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.environment = environment
        self.clock = clock
        self.kms_key_id = kms_key_id
        self._owns_client = client is None
        if client is None:
            # A private session: creating clients from boto3's default session is not thread-safe.
            config = Config(retries={"max_attempts": 10, "mode": "standard"})
            client = boto3.session.Session().client(
                "dynamodb", endpoint_url=endpoint_url, region_name=region, config=config
            )
        self._client: Any = client

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # -- plumbing ------------------------------------------------------------------------
    def _name(self, spec: TableSpec) -> str:
        return spec.physical_name(self.environment)

    def _call(self, operation: str, where: str, **kwargs: Any) -> dict[str, Any]:
        """One API call; errors become Conflict or StoreError, never echoing item values."""
        try:
            response: dict[str, Any] = getattr(self._client, operation)(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            if code == "ConditionalCheckFailedException":
                raise Conflict("the item changed or already exists (condition failed)") from None
            message = str(error.get("Message", ""))[:300]
            raise StoreError(f"dynamodb {operation} on {where} failed: {code}: {message}") from None
        except ParamValidationError:  # its report quotes the offending parameter values
            raise StoreError(f"dynamodb {operation} on {where}: invalid request") from None
        except BotoCoreError as exc:
            raise StoreError(f"dynamodb {operation} on {where} failed: {exc}") from exc
        return response

    def _on(self, operation: str, spec: TableSpec, **kwargs: Any) -> dict[str, Any]:
        return self._call(operation, self._name(spec), TableName=self._name(spec), **kwargs)

    def _guarded(
        self,
        operation: str,
        spec: TableSpec,
        key: Key,
        condition: Condition | None,
        build: Callable[[_Expr], dict[str, Any]],
    ) -> dict[str, Any]:
        """A write whose condition starts with "the item is not expired". When that part fails,
        delete the expired item and go again, so the write sees it as absent (as SQLite does)."""
        for _ in range(3):
            now = self._now()
            expr = _Expr()
            request = build(expr)
            check = expr.live(now)
            if condition is not None:
                check += f" AND {expr.condition(condition)}"
            try:
                return self._on(operation, spec, ConditionExpression=check, **request, **expr.params())
            except Conflict:
                if not self._delete_if_expired(spec, key, now):
                    raise
        raise Conflict("the item kept expiring during this write; try again")

    def _delete_if_expired(self, spec: TableSpec, key: Mapping[str, Any], now: int) -> bool:
        expr = _Expr()
        check = expr.expired(now)
        try:
            self._on("delete_item", spec, Key=_serialize(spec.key_of(key)), ConditionExpression=check, **expr.params())
        except Conflict:
            return False
        return True

    @staticmethod
    def _check_index_keys(spec: TableSpec, values: Mapping[str, Any]) -> None:
        # Real DynamoDB refuses a GSI key that is not a non-empty string (the indexes are typed
        # S) but moto stores it; check here so both fail alike instead of only production.
        table_keys = {spec.hash_key, spec.range_key}
        for index in spec.indexes:
            for attribute in (index.hash_key, index.range_key):
                if attribute and attribute in values and attribute not in table_keys:
                    value = values[attribute]
                    if not isinstance(value, str) or not value:
                        raise ValidationFailed(f"index {index.name} needs a non-empty string", field=attribute)

    def _key_id(self, spec: TableSpec, key: Mapping[str, Any]) -> tuple[Any, Any]:
        return (key[spec.hash_key], key[spec.range_key] if spec.range_key else None)

    def _scan_raw(self, spec: TableSpec, **kwargs: Any) -> Iterator[dict[str, Any]]:
        start: dict[str, Any] | None = None
        while True:
            response = self._on("scan", spec, **kwargs, **({"ExclusiveStartKey": start} if start else {}))
            yield from response.get("Items", [])
            start = response.get("LastEvaluatedKey")
            if not start:
                return

    def _scan_keys(self, spec: TableSpec, expired_at: int | None = None) -> list[Key]:
        """Keys of every stored item, expired ones included; or of those expired at a time."""
        expr = _Expr()
        names = [spec.hash_key, *([spec.range_key] if spec.range_key else [])]
        kwargs: dict[str, Any] = {"ProjectionExpression": ", ".join(map(expr.name, names))}
        if expired_at is not None:
            kwargs["FilterExpression"] = expr.expired(expired_at)
        return [_deserialize(raw) for raw in self._scan_raw(spec, **kwargs, **expr.params())]

    def _batches(self, operation: str, name: str, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Responses to one batch request, re-sending what DynamoDB left unprocessed (it does
        under throttling) with exponential backoff."""
        leftover = "UnprocessedKeys" if operation == "batch_get_item" else "UnprocessedItems"
        for attempt in range(_BATCH_ATTEMPTS):
            response = self._call(operation, name, RequestItems=request)
            yield response
            request = response.get(leftover) or {}
            if not request:
                return
            _backoff(attempt)
        raise StoreError(f"dynamodb {operation} on {name}: requests left unprocessed")

    def _batch_write(self, spec: TableSpec, requests: Sequence[dict[str, Any]]) -> None:
        name = self._name(spec)
        for chunk in chunks(requests):  # never more than 25: real DynamoDB refuses 26
            for _ in self._batches("batch_write_item", name, {name: list(chunk)}):
                pass

    # -- schema --------------------------------------------------------------------------
    def _definition(self, spec: TableSpec) -> dict[str, Any]:
        definition = key_schema(spec)
        sse: dict[str, Any] = {"Enabled": True, "SSEType": "KMS"}
        if self.kms_key_id:
            sse["KMSMasterKeyId"] = self.kms_key_id
        return definition | {"BillingMode": "PAY_PER_REQUEST", "SSESpecification": sse}

    def missing_tables(self, specs: Sequence[TableSpec]) -> list[str]:
        missing = []
        for spec in specs:
            name = self._name(spec)
            try:
                status = self._on("describe_table", spec)["Table"].get("TableStatus")
            except StoreError as exc:
                if "ResourceNotFoundException" not in exc.message:
                    raise
                missing.append(name)
                continue
            if status not in ("ACTIVE", "UPDATING"):  # CREATING or DELETING: not usable now
                missing.append(f"{name} ({status})")
        return missing

    def ensure_tables(self, specs: Sequence[TableSpec]) -> None:
        for spec in specs:
            name = self._name(spec)
            try:
                self._on("create_table", spec, **self._definition(spec))
            except StoreError as exc:
                if "ResourceInUseException" not in exc.message:  # in use = exists: keep it
                    raise
            try:
                waiter = self._client.get_waiter("table_exists")  # until ACTIVE
                waiter.wait(TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 150})
            except BotoCoreError as exc:
                raise StoreError(f"dynamodb table {name} did not become ACTIVE: {exc}") from exc
            self._enable_pitr(spec)
            self._enable_ttl(spec)

    def _enable_pitr(self, spec: TableSpec, attempts: int = 8) -> None:
        for attempt in range(attempts):
            try:
                pitr = {"PointInTimeRecoveryEnabled": True}
                self._on("update_continuous_backups", spec, PointInTimeRecoverySpecification=pitr)
                return
            except StoreError as exc:
                # A brand-new table may still be switching its backups on; that passes.
                if "ContinuousBackupsUnavailable" not in exc.message or attempt == attempts - 1:
                    raise
                _backoff(attempt + 3)

    def _enable_ttl(self, spec: TableSpec) -> None:
        described = self._on("describe_time_to_live", spec).get("TimeToLiveDescription", {})
        if described.get("TimeToLiveStatus") in {"ENABLED", "ENABLING"}:
            return
        ttl = {"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
        try:
            self._on("update_time_to_live", spec, TimeToLiveSpecification=ttl)
        except StoreError as exc:
            if "already enabled" not in exc.message.lower():  # a concurrent ensure_tables won
                raise

    # -- items ---------------------------------------------------------------------------
    def get(self, table: TableSpec, key: Key) -> Item | None:
        now = self._now()
        raw = self._on("get_item", table, Key=_serialize(table.key_of(key)), ConsistentRead=True).get("Item")
        item = None if raw is None else _deserialize(raw)
        return None if item is None or is_expired(item, now) else item

    def put(self, table: TableSpec, item: Item, condition: Condition | None = None) -> None:
        self._check_index_keys(table, item)
        serialized = _serialize(item)
        if condition is None:  # a blind overwrite replaces an expired item too
            self._on("put_item", table, Item=serialized)
        else:
            key = table.key_of(item)
            self._guarded("put_item", table, key, condition, lambda _: {"Item": serialized})

    def update(
        self,
        table: TableSpec,
        key: Key,
        *,
        set_values: Mapping[str, Any] | None = None,
        add_values: Mapping[str, int | float] | None = None,
        remove: Sequence[str] = (),
        condition: Condition | None = None,
    ) -> Item:
        key = table.key_of(key)
        # Setting a key attribute to its own value is harmless in SQLite; DynamoDB refuses it.
        sets = {n: v for n, v in (set_values or {}).items() if not (n in key and key[n] == v)}
        adds = dict(add_values or {})
        self._check_index_keys(table, sets)

        def build(expr: _Expr) -> dict[str, Any]:
            clauses = {
                "SET": [f"{expr.name(n)} = {expr.value(v, n)}" for n, v in sets.items()],
                "ADD": [f"{expr.name(n)} {expr.value(v, n)}" for n, v in adds.items()],
                "REMOVE": [expr.name(n) for n in remove],
            }
            if not any(clauses.values()):
                # Nothing to change still creates the item, as in SQLite; moto fails on an
                # UpdateItem without expression, so remove a never-stored name instead.
                clauses["REMOVE"] = [expr.name(_NEVER)]
            action = " ".join(f"{verb} {', '.join(parts)}" for verb, parts in clauses.items() if parts)
            return {"Key": _serialize(key), "UpdateExpression": action, "ReturnValues": "ALL_NEW"}

        # Always guarded: an update of an expired item must start from the bare key.
        response = self._guarded("update_item", table, key, condition, build)
        return _deserialize(response.get("Attributes", {}))

    def delete(self, table: TableSpec, key: Key, condition: Condition | None = None) -> bool:
        request = {"Key": _serialize(table.key_of(key)), "ReturnValues": "ALL_OLD"}
        # Guarded, so "there was an item" means a live one, as in SQLite.
        response = self._guarded("delete_item", table, key, condition, lambda _: request)
        return "Attributes" in response

    def query(
        self,
        table: TableSpec,
        hash_value: Any,
        *,
        index: str | None = None,
        range_value: Any = None,
        limit: int | None = None,
        start_key: Key | None = None,
        descending: bool = False,
        range_from: Any = None,
        filter: Condition | None = None,
    ) -> Page:
        if limit is not None and limit < 1:
            raise ValidationFailed("limit must be at least 1", field="limit")
        hash_key, range_key = table.hash_key, table.range_key
        expr = _Expr()
        request: dict[str, Any] = {"ScanIndexForward": not descending}
        if index is None:
            request["ConsistentRead"] = True  # GSIs cannot be read consistently
        else:
            try:
                hash_key, range_key = table.index(index).hash_key, table.index(index).range_key
            except KeyError:
                raise StoreError(f"table {table.name} has no index {index}") from None
            if not isinstance(hash_value, str) or not isinstance(range_value, str | None):
                return Page()  # index keys are strings: nothing else matches (as in SQLite)
            request["IndexName"] = index
        if range_value is not None and range_key is None:
            raise StoreError(f"index {index or table.name} has no range key")
        check = f"{expr.name(hash_key)} = {expr.value(hash_value, hash_key)}"
        if range_value is not None and range_key is not None:
            check += f" AND {expr.name(range_key)} = {expr.value(range_value, range_key)}"
        if range_from is not None:
            if range_key is None:
                raise StoreError(f"index {index or table.name} has no range key")
            check += f" AND {expr.name(range_key)} >= {expr.value(range_from, range_key)}"
        request.update(KeyConditionExpression=check, **expr.params())
        # Expired items are dropped after DynamoDB has applied Limit, so keep asking until the
        # page is full; asking for one item more tells whether a next page exists.
        now = self._now()
        items: list[Item] = []
        start = None
        if start_key is not None:
            checked = checked_start_key(
                table, start_key, index=index, hash_value=hash_value, range_value=range_value, range_from=range_from
            )
            start = _serialize(checked)
        while limit is None or len(items) <= limit:
            extra: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            if limit is not None:
                # With a filter, read ahead: most of what is read may be filtered out.
                extra["Limit"] = (limit - len(items) + 1) * (1 if filter is None else 4)
            response = self._on("query", table, **request, **extra)
            fresh = (_deserialize(raw) for raw in response.get("Items", []))
            items.extend(item for item in fresh if not is_expired(item, now) and keep(item, filter))
            start = response.get("LastEvaluatedKey")
            if not start:
                break
        if limit is None or len(items) <= limit:
            return Page(items=items)
        items = items[:limit]
        # Continue after the last item: its table key plus its index key (an ExclusiveStartKey).
        last = items[-1]
        return Page(items=items, next_key=position_key(table, index, last))

    def batch_get(self, table: TableSpec, keys: Sequence[Key]) -> list[Item]:
        now = self._now()
        name = self._name(table)
        # DynamoDB refuses a key twice in one request: fetch each once, answer in key order.
        unique = {self._key_id(table, key): table.key_of(key) for key in keys}
        found: dict[tuple[Any, Any], Item] = {}
        for chunk in chunks(list(unique.values())):
            request = {name: {"Keys": [_serialize(k) for k in chunk], "ConsistentRead": True}}
            for response in self._batches("batch_get_item", name, request):
                for raw in response.get("Responses", {}).get(name, []):
                    item = _deserialize(raw)
                    if not is_expired(item, now):
                        found[self._key_id(table, item)] = item
        return [found[k] for k in (self._key_id(table, key) for key in keys) if k in found]

    def batch_put(self, table: TableSpec, items: Sequence[Item]) -> None:
        for item in items:
            self._check_index_keys(table, item)
        # A key twice in one request is refused; the last write of a key wins, as in SQLite.
        latest = {self._key_id(table, item): item for item in items}
        self._batch_write(table, [{"PutRequest": {"Item": _serialize(i)}} for i in latest.values()])

    def batch_delete(self, table: TableSpec, keys: Sequence[Key]) -> None:
        unique = {self._key_id(table, key): table.key_of(key) for key in keys}
        self._batch_write(table, [{"DeleteRequest": {"Key": _serialize(k)}} for k in unique.values()])

    def scan(self, table: TableSpec) -> Iterator[Item]:
        now = self._now()
        items = [_deserialize(raw) for raw in self._scan_raw(table, ConsistentRead=True)]
        # SQLite yields in key order and backups rely on a stable order: sort the same way.
        items.sort(key=lambda item: self._key_id(table, item))
        yield from (item for item in items if not is_expired(item, now))

    def purge_expired(self, table: TableSpec, now: int) -> int:
        # Conditional deletes: an item whose ttl was pushed back since the scan stays.
        keys = self._scan_keys(table, expired_at=now)
        return sum(self._delete_if_expired(table, key, now) for key in keys)

    def drop_all(self, specs: Sequence[TableSpec]) -> None:
        for spec in specs:
            self.batch_delete(spec, self._scan_keys(spec))


def key_schema(spec: TableSpec) -> dict[str, Any]:
    """A table's keys, attribute types and indexes as DynamoDB spells them: CreateTable and the
    CloudFormation template (deploy/generate_template.py) both start from this."""
    types = {spec.hash_key: "S"}
    keys = [{"AttributeName": spec.hash_key, "KeyType": "HASH"}]
    if spec.range_key:
        types[spec.range_key] = spec.range_key_type
        keys.append({"AttributeName": spec.range_key, "KeyType": "RANGE"})
    indexes = []
    for index in spec.indexes:
        schema = [{"AttributeName": index.hash_key, "KeyType": "HASH"}]
        types.setdefault(index.hash_key, "S")
        if index.range_key:
            schema.append({"AttributeName": index.range_key, "KeyType": "RANGE"})
            types.setdefault(index.range_key, "S")
        indexes.append({"IndexName": index.name, "KeySchema": schema, "Projection": {"ProjectionType": "ALL"}})
    definition: dict[str, Any] = {
        "KeySchema": keys,
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in types.items()],
    }
    if indexes:
        definition["GlobalSecondaryIndexes"] = indexes
    return definition
