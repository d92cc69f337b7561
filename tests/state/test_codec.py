"""Stored items' JSON (`state/codec.py`): the fast encoder and parser keep `json`'s meaning.

The canonical text is what `json.dumps(sort_keys, compact, ensure_ascii=False)` wrote before
orjson took over the encoding, except a float's exponent spelling; and every text reads back as
`json.loads` reads it, whichever parser read it.
"""

from __future__ import annotations

import json
import math
import random
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from mantissa_log.state.codec import decode, decode_value, encode, encode_value


def json_canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types all the way down (1 and 1.0 differ; NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or repr(a) == repr(b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


CHARS = [chr(c) for c in [*range(0x00, 0x300), 0x2028, 0x2029, 0xFEFF, 0xFFFF, 0x1F600, 0x10FFFF]]


def random_value(rnd: random.Random, depth: int = 0) -> Any:
    kind = rnd.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return "".join(rnd.choice(CHARS) for _ in range(rnd.randrange(12)))
    if kind == 1:
        return rnd.randint(-(2**63), 2**64 - 1)
    if kind == 2:
        return rnd.choice([0.1, -0.0, 1e-7, 1e16, 1e22, 5e-324, 1.7976931348623157e308, rnd.uniform(-1e6, 1e6)])
    if kind == 3:
        return rnd.choice([None, True, False])
    if kind == 4:
        return rnd.randint(-1000, 1000)
    if kind == 5:
        return [random_value(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    return {
        "".join(rnd.choice(CHARS) for _ in range(rnd.randrange(1, 6))): random_value(rnd, depth + 1)
        for _ in range(rnd.randrange(4))
    }


def test_encoding_is_json_canonical_text_apart_from_exponent_spelling() -> None:
    rnd = random.Random(20261203)
    for _ in range(3000):
        item = {"k": random_value(rnd), "a": random_value(rnd)}
        text = encode(item)
        assert same(json.loads(text), json.loads(json_canonical(item)))
        assert text.replace("e-0", "e-") == json_canonical(item).replace("e-0", "e-")
        assert encode(item) == text  # the same item, the same text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": [1, (2, 3)]}, '{"a":[1,[2,3]],"b":1}'),
        ({"t": "é\u2028😀\x00\x1f\x7f"}, '{"t":"é\u2028😀\\u0000\\u001f\x7f"}'),
        ({"n": None, "x": 1.0}, '{"n":null,"x":1.0}'),
    ],
)
def test_canonical_form(value: Any, expected: str) -> None:
    assert encode(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"nan": float("nan"), "inf": math.inf, "ninf": -math.inf},  # orjson alone would write null
        {"big": 2**64, "small": -(2**63) - 1, "huge": 10**40},  # orjson refuses beyond 64 bits
        {1: "int key", 2: "another"},  # json writes the keys as text
        {"deep": nested(300)},  # deeper than orjson goes
    ],
)
def test_what_the_fast_encoder_would_change_or_refuse_is_written_as_json_writes_it(value: Any) -> None:
    text = encode_value(value)
    assert text == json_canonical(value)
    assert same(decode_value(text), json.loads(text))


@pytest.mark.parametrize("value", [{"at": datetime(2026, 1, 1, tzinfo=UTC)}, {"x": {1, 2}}])
def test_values_json_cannot_write_are_still_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        encode(value)


def test_a_dataclass_is_refused_as_json_refuses_it() -> None:
    @dataclass
    class Point:
        x: int

    with pytest.raises(TypeError):
        encode({"p": Point(1)})


@pytest.mark.parametrize(
    "text",
    [
        '{"big":18446744073709551616,"neg":-123456789012345678901234567890}',  # stay integers
        '{"nan":NaN,"inf":Infinity,"ninf":-Infinity,"over":1E400}',
        '{"s":"\\ud800 lone"}',  # a lone surrogate: the fast parser refuses it, json takes it
        '{"a":1,"a":2}',
        '{"z":-0,"f":-0.0,"e":1e-7,"u":"\\u00e9\\n"}',
    ],
)
def test_decoding_reads_what_json_reads(text: str) -> None:
    assert same(decode(text), json.loads(text))


def test_decoding_rounds_floats_as_json_does() -> None:
    rnd = random.Random(7)
    for _ in range(20000):
        number = struct.unpack("d", struct.pack("Q", rnd.getrandbits(64)))[0]
        if not math.isfinite(number):
            continue
        for text in (repr(number), f"{number:.17g}", f"{number:.6e}"):
            assert same(decode_value(text), json.loads(text)), text


def test_decoding_random_documents_matches_json() -> None:
    rnd = random.Random(11)
    for _ in range(3000):
        value = random_value(rnd)
        for text in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
            assert same(decode_value(text), json.loads(text))


@pytest.mark.parametrize("text", ["[1,2]", '"text"', "3"])
def test_a_stored_item_must_be_an_object(text: str) -> None:
    with pytest.raises(ValueError, match="JSON object"):
        decode(text)


@pytest.mark.parametrize("text", ["{", '{"a":}', "", "{'a':1}"])
def test_bad_text_raises_json_s_own_error(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        decode(text)
