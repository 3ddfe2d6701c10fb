"""Errors that the command line turns into exit codes (0 success, 1 the data does not conform, 2 usage or input)."""

from __future__ import annotations

from dataclasses import dataclass


class SitegraphError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with."""

    exit_code = 2


class UsageError(SitegraphError):
    """A command was called wrongly (bad option, missing folder, unreadable config)."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a source file, located as precisely as we can."""

    file: str
    line: int | None
    entity: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        what = " ".join(part for part in (self.entity, f"[{self.field}]" if self.field else None) if part)
        return f"{where}: {what + ': ' if what else ''}{self.message}"


class SourceError(SitegraphError):
    """The source files are malformed: bad YAML, unknown keys or references, duplicate IRIs (exit 2)."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ValidationFailed(SitegraphError):
    """The built dataset does not conform to the SHACL shapes (exit 1)."""

    exit_code = 1

    def __init__(self, problems: list[Problem], report_text: str = "") -> None:
        self.problems = problems
        self.report_text = report_text
        super().__init__("\n".join(str(p) for p in problems))


class VerificationFailed(SitegraphError):
    """Evidence quotes do not match the corpus texts (exit 1)."""

    exit_code = 1

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
