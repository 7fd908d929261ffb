"""The root of the tree, and the one error of usage that is not a bad value."""

from __future__ import annotations


class MergetoolError(Exception):
    """Root of every error mergetool raises on purpose."""

    exit_code: int = 1

    def __init__(
        self, message: str, *, hint: str | None = None, parameter: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        #: The Python name of the parameter whose value is at fault, when one is.
        self.parameter = parameter

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n{self.hint}"
        return self.message

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly description used by ``--json`` error output."""
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint}


class UsageProblem(MergetoolError):
    """Arguments that parse but make no sense together."""

    exit_code = 2


class Cancelled(MergetoolError):
    """Work stopped on request (a stop, a new challenge): never a failure."""
