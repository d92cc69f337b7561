"""Reading a chat answer: the one fenced code block asked for, and the prose around it.

Any chat model can answer in this form, small local ones included; nothing depends on tool calls
or JSON modes. The first block whose tag names the language is taken; an untagged block counts
when it is the only block. A block left open (the answer was cut at max_tokens) is not taken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BLOCK = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Fenced:
    code: str | None  # None: no complete block of the language
    prose: str  # the answer without its code blocks, whitespace collapsed
    unterminated: bool = False  # a block was opened and never closed (cut off)


def read_fenced(text: str, languages: tuple[str, ...]) -> Fenced:
    blocks = [(m.group(1).lower(), m.group(2)) for m in _BLOCK.finditer(text)]
    prose = " ".join(_BLOCK.sub(" ", text).split())
    chosen = next((body for tag, body in blocks if tag in languages), None)
    if chosen is None and len(blocks) == 1 and not blocks[0][0]:
        chosen = blocks[0][1]
    unterminated = chosen is None and text.count("```") % 2 == 1
    return Fenced(chosen.strip() if chosen is not None else None, prose, unterminated)
