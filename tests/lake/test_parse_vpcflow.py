"""VPC flow logs: v2 default without a header, header lines, custom formats, `-` as null, bad rows."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

from mantissa_log.domain.log_sources import VPCFLOW_V2_FIELDS
from mantissa_log.lake import Rejection
from mantissa_log.lake.parsers import vpcflow

V2_HEADER = " ".join(VPCFLOW_V2_FIELDS)
ENI = "2 123456789010 eni-1235b8ca123456789"
ROWS = [
    f"{ENI} 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
    f"{ENI} 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK",
    f"{ENI} - - - - - - - 1431280876 1431280934 - NODATA",
]


def test_v2_rows_without_a_header() -> None:
    result = vpcflow.parse("\n".join(ROWS).encode())
    assert (result.accepted, result.rejected) == (3, [])
    first = json.loads(result.events[0].raw)
    assert list(first) == list(VPCFLOW_V2_FIELDS)
    assert (first["srcaddr"], first["dstport"], first["action"]) == ("172.31.16.139", "22", "ACCEPT")
    assert result.events[0].event_time == datetime(2014, 12, 14, 4, 6, 50, tzinfo=UTC)
    assert result.events[0].event_id is None
    nodata = json.loads(result.events[2].raw)
    assert (nodata["srcaddr"], nodata["log-status"], nodata["start"]) == (None, "NODATA", "1431280876")


def test_v2_header_gzipped_and_repeated_header_skipped() -> None:
    text = "\n".join([V2_HEADER, ROWS[0], V2_HEADER, ROWS[1], ""])
    result = vpcflow.parse(gzip.compress(text.encode()), filename="flow.log.gz")
    assert (result.accepted, result.rejected) == (2, [])


def test_custom_format_header_names_the_fields() -> None:
    header = "version vpc-id subnet-id interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr tcp-flags start end action"
    rows = [
        "5 vpc-0a1b subnet-9f eni-42 10.0.0.5 10.0.1.7 203.0.113.9 10.0.1.7 2 1700000000 1700000060 ACCEPT",
        "5 vpc-0a1b subnet-9f eni-42 10.0.0.5 10.0.1.7 - - 0 - 1700000060 REJECT",
        "5 vpc-0a1b subnet-9f eni-42 10.0.0.5",
    ]
    result = vpcflow.parse("\n".join([header, *rows]).encode())
    assert result.accepted == 2
    first = json.loads(result.events[0].raw)
    assert list(first) == header.split()
    assert (first["pkt-srcaddr"], first["tcp-flags"], first["vpc-id"]) == ("203.0.113.9", "2", "vpc-0a1b")
    second = json.loads(result.events[1].raw)
    assert second["pkt-srcaddr"] is None
    assert result.events[1].event_time is None  # start is "-"
    assert result.rejected == [Rejection(4, None, "expected 12 fields, got 5")]


def test_header_in_aws_format_string_syntax() -> None:
    header = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} " + (
        "${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${flow-direction}"
    )
    result = vpcflow.parse(f"{header}\n{ROWS[0]} ingress\n".encode())
    assert result.rejected == []
    assert json.loads(result.events[0].raw)["flow-direction"] == "ingress"


def test_rows_with_the_wrong_field_count_are_rejected_by_line() -> None:
    text = "\n".join([V2_HEADER, ROWS[0], "2 123 eni-1", "", ROWS[1] + " extra", ROWS[2]])
    result = vpcflow.parse(text.encode())
    assert result.accepted == 2
    assert result.rejected == [
        Rejection(3, None, "expected 14 fields, got 3"),
        Rejection(5, None, "expected 14 fields, got 15"),
    ]


def test_a_data_row_of_lowercase_words_is_not_taken_for_a_header() -> None:
    header = "interface-id flow-direction"
    assert vpcflow.header_fields(header.split()) == ("interface-id", "flow-direction")
    assert vpcflow.header_fields(["eni-1235b8ca123456789", "ingress"]) is None
    assert vpcflow.header_fields(ROWS[0].split()) is None
