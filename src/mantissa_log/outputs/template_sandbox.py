"""The Jinja2 environment webhook templates render in: immutable sandbox, StrictUndefined, bounded growth.

This module is imported by the template worker process (`template_worker`), which is where every
user template is parsed, compiled and rendered; the server process never runs one. The worker's
resource limits (address space, CPU, wall clock) hold whatever a template does. The bounds here come
on top, so that the usual ways of building a huge value fail at once with a message that names
them instead of running into the memory limit:

- `*` (repetition) and `**` (big exponents), `%` and `format`/`str.format` with large widths,
- `center`, `indent`, `wordwrap`, `replace`, `join`, `slice` filters and the `center`, `ljust`,
  `rjust`, `zfill`, `expandtabs`, `replace`, `join` string methods,
- `range` (Jinja's own cap) and `lipsum` (removed),
- the rendered body, counted as it is produced (`render_limited`), never built past the cap.

Only the standard library and Jinja2 are imported here: the worker starts in a few tens of ms.
"""

from __future__ import annotations

import re
import string
import types
from collections.abc import Iterable
from typing import Any

import jinja2
from jinja2 import filters as jinja_filters
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_STRING = 1 << 20  # no value a template builds may exceed the body cap
MAX_WIDTH = 10_000  # padding / indentation / field width
MAX_PRODUCT_LEN = 100_000  # `'x' * n`, `[a] * n`
MAX_POWER_BITS = 100_000  # `a ** b` results
MAX_SLICES = 10_000

# printf-style conversions: widths and precisions as written (`*` takes them from the arguments).
_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[diouxXeEfFgGcrsab%]")
_DIGITS = re.compile(r"\d+")
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


class TemplateLimit(SecurityError):
    """A template asked for more than a bound allows."""


def _check_width(width: Any, what: str) -> None:
    if isinstance(width, int) and abs(width) > MAX_WIDTH:
        raise TemplateLimit(f"{what} width {width} is over {MAX_WIDTH}")


def check_percent_format(text: str) -> None:
    """`'%1000000000s' % x` would build a gigabyte: widths and precisions are bounded."""
    for match in _PERCENT.finditer(text):
        for part in match.groups():
            if part == "*":
                raise TemplateLimit("a width taken from the arguments (`*`) is not allowed in % formatting")
            if part is not None and int(part) > MAX_WIDTH:
                raise TemplateLimit(f"% format width {part} is over {MAX_WIDTH}")


def check_brace_format(text: str) -> None:
    """`'{:>1000000000}'.format(x)`: field widths bounded, no widths taken from the arguments."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateLimit(f"bad format string: {exc}") from None
    for _, _, spec, _ in parsed:
        if not spec:
            continue
        if "{" in spec:
            raise TemplateLimit("a width taken from the arguments is not allowed in str.format")
        for number in _DIGITS.findall(spec):
            if int(number) > MAX_WIDTH:
                raise TemplateLimit(f"format width {number} is over {MAX_WIDTH}")


def _limited_length(length: int, what: str) -> None:
    if length > MAX_STRING:
        raise TemplateLimit(f"{what} would be {length} characters long (at most {MAX_STRING})")


# ---------------------------------------------------------------- filters


def _center(value: Any, width: int = 80) -> str:
    _check_width(width, "center")
    return str(value).center(width)


def _indent(value: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    text = str(value)
    if isinstance(width, int):
        _check_width(width, "indent")
    pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 4
    _limited_length(len(text) + pad * (text.count("\n") + 1), "the indented text")
    return str(jinja_filters.do_indent(text, width, first, blank))


@jinja2.pass_environment
def _wordwrap(environment: jinja2.Environment, value: Any, width: int = 79, *args: Any, **kwargs: Any) -> str:
    _check_width(width, "wordwrap")
    if isinstance(width, int) and width < 1:
        raise TemplateLimit("wordwrap width must be at least 1")
    return str(jinja_filters.do_wordwrap(environment, str(value), width, *args, **kwargs))


def _replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
    text, old_text, new_text = str(value), str(old), str(new)
    hits = len(text) + 1 if old_text == "" else text.count(old_text)
    if count is not None and count >= 0:
        hits = min(hits, count)
    _limited_length(len(text) + hits * (len(new_text) - len(old_text)), "the replaced text")
    return text.replace(old_text, new_text, -1 if count is None else count)


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    text = str(value)
    check_percent_format(text)
    return str(jinja_filters.do_format(text, *args, **kwargs))


def bounded_join(separator: str, items: Iterable[Any]) -> str:
    pieces: list[str] = []
    total = 0
    for item in items:
        piece = str(item)
        total += len(piece) + (len(separator) if pieces else 0)
        _limited_length(total, "the joined text")
        pieces.append(piece)
    return separator.join(pieces)


@jinja2.pass_environment
def _join(environment: jinja2.Environment, value: Iterable[Any], d: str = "", attribute: Any = None) -> str:
    items: Iterable[Any] = value
    if attribute is not None:
        items = map(jinja_filters.make_attrgetter(environment, attribute), value)
    return bounded_join(str(d), items)


def _slice(value: Any, slices: int, fill_with: Any = None) -> Any:
    if not isinstance(slices, int) or not 0 < slices <= MAX_SLICES:
        raise TemplateLimit(f"slice count must be between 1 and {MAX_SLICES}")
    return list(jinja_filters.sync_do_slice(value, slices, fill_with))


class SandboxEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self) -> None:
        super().__init__(autoescape=False, undefined=jinja2.StrictUndefined)
        self.globals.pop("lipsum", None)  # lipsum(n=10**9) is a gigabyte of Latin
        self.filters.update(
            center=_center, indent=_indent, wordwrap=_wordwrap, replace=_replace, format=_format, slice=_slice
        )
        self.filters["join"] = _join

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float):
            if isinstance(left, int) and not isinstance(left, bool) and abs(left) > 1 and right > 0:
                if left.bit_length() * right > MAX_POWER_BITS:
                    raise TemplateLimit("power result too large")
            elif abs(right) > 64 and not isinstance(left, float):
                raise TemplateLimit("exponent too large")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                repeated = isinstance(seq, str | list | tuple) and isinstance(times, int)
                if repeated and len(seq) * times > MAX_PRODUCT_LEN:
                    raise TemplateLimit("repetition result too long")
        if operator == "%" and isinstance(left, str):
            check_percent_format(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 - Jinja's signature
        name = getattr(__obj, "__name__", "")
        target = getattr(__obj, "__self__", None)
        wrapped = getattr(__obj, "__wrapped__", None)
        wrapped_self = getattr(wrapped, "__self__", None)
        if name in ("format", "format_map") and isinstance(wrapped_self, str):
            check_brace_format(wrapped_self)
        elif isinstance(__obj, types.BuiltinMethodType) and isinstance(target, str):
            if name in _PADDING_METHODS and args:
                _check_width(args[0], name)
            elif name == "replace" and len(args) >= 2:
                return _replace(target, args[0], args[1], *args[2:3])
            elif name == "join" and args:
                return bounded_join(target, args[0])
        return super().call(__context, __obj, *args, **kwargs)


def render_limited(environment: jinja2.Environment, source: str, data: dict[str, Any], max_bytes: int) -> bytes:
    """The rendered body, produced piece by piece and refused past `max_bytes`."""
    template = environment.from_string(source)
    parts: list[bytes] = []
    size = 0
    for chunk in template.generate(alert=data):
        encoded = chunk.encode("utf-8", "surrogateescape")
        size += len(encoded)
        if size > max_bytes:
            raise TemplateLimit(f"the template renders more than {max_bytes} bytes")
        parts.append(encoded)
    return b"".join(parts)
