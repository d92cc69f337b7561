"""One Glue Data Catalog table per source over the S3 lake, with partition projection (no crawlers).

Athena computes the partitions from the table's projection parameters (`date` from 2020-01-01 up
to today, `hour` 00-23) and the location template, so a new hour of data needs no catalog call
and nothing ever crawls the bucket. The columns are the lake's (docs/DETECTION.md, "Events at
rest"); `event` is the source's structure as a Hive struct.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from mantissa_log.domain.log_sources import SOURCES, LogSource
from mantissa_log.errors import StoreError

_HIVE = {
    "VARCHAR": "string",
    "JSON": "string",  # DuckDB's JSON is text in Parquet
    "BIGINT": "bigint",
    "INTEGER": "int",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp",
}


def hive_type(node: Any) -> str:
    if isinstance(node, str):
        return _HIVE.get(node.upper(), "string")
    if isinstance(node, list):
        return f"array<{hive_type(node[0])}>"
    return "struct<" + ",".join(f"{name}:{hive_type(value)}" for name, value in node.items()) + ">"


def table_input(source: LogSource, location: str) -> dict[str, Any]:
    columns = [
        {"Name": "ingest_time", "Type": "timestamp"},
        {"Name": "event_time", "Type": "timestamp"},
        {"Name": "event_id", "Type": "string"},
        {"Name": "raw", "Type": "string"},
    ]
    if source.structure:
        columns.append({"Name": "event", "Type": hive_type(source.structure)})
    return {
        "Name": source.name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {
            "classification": "parquet",
            "EXTERNAL": "TRUE",
            "projection.enabled": "true",
            "projection.date.type": "date",
            "projection.date.format": "yyyy-MM-dd",
            "projection.date.range": "2020-01-01,NOW",
            "projection.date.interval": "1",
            "projection.date.interval.unit": "DAYS",
            "projection.hour.type": "integer",
            "projection.hour.range": "0,23",
            "projection.hour.digits": "2",
            "storage.location.template": location + "date=${date}/hour=${hour}/",
        },
        "PartitionKeys": [{"Name": "date", "Type": "string"}, {"Name": "hour", "Type": "string"}],
        "StorageDescriptor": {
            "Columns": columns,
            "Location": location,
            "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
        },
    }


def ensure_source_tables(glue: Any, database: str, location_of: Any) -> list[tuple[str, bool]]:
    """Create or update every source's table; returns (table, created) pairs."""
    done: list[tuple[str, bool]] = []
    for source in SOURCES.values():
        wanted = table_input(source, location_of(source.name))
        try:
            glue.create_table(DatabaseName=database, TableInput=wanted)
            done.append((source.name, True))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "AlreadyExistsException":
                raise StoreError(f"cannot create glue table {database}.{source.name}: {exc}") from None
            glue.update_table(DatabaseName=database, TableInput=wanted)  # the structure may have grown
            done.append((source.name, False))
    return done


def missing_source_tables(glue: Any, database: str) -> list[str]:
    missing = []
    for name in SOURCES:
        try:
            glue.get_table(DatabaseName=database, Name=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "EntityNotFoundException":
                raise StoreError(f"glue table {database}.{name}: {exc}") from None
            missing.append(f"{database}.{name}")
    return missing
