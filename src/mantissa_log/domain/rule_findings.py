"""What checking rule files found: one problem, at one line of one file, an error or a warning.

Errors fail `mantissa-log rules validate` (exit 1); warnings are printed and pass unless `--strict`.
The type lives in the core so that `sigma/` (which finds them), `services/` and the CLI share it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

FindingLevel = Literal["error", "warning"]


@dataclass(frozen=True)
class RuleFinding:
    path: str  # as the caller named the file
    line: int | None  # 1-based line of the key the finding is about; None when nothing points at one
    level: FindingLevel
    message: str
    check: str  # which check: a pySigma issue (e.g. `identifier_collision`) or `mantissa` for our own

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else self.path

    def as_error(self) -> RuleFinding:
        return dataclasses.replace(self, level="error")

    def __str__(self) -> str:
        return f"{self.where}: {self.level}: {self.message} [{self.check}]"
