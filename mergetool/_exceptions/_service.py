"""Errors of the services and their clients: serve, status, a remote k2pow-service."""

from __future__ import annotations

from mergetool._exceptions._base import MergetoolError
from mergetool._exceptions._post import ProvingFailed


class ServeError(MergetoolError):
    """``serve`` cannot go on: a data folder is unfit, or the node cannot be reached."""


class Unreachable(MergetoolError):
    """A node or PoST service at ``address`` did not answer as it should (``reason`` says how)."""

    def __init__(self, address: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{address}: {reason}", hint=hint)
        self.address = address
        self.reason = reason

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "address": self.address}


class RemoteK2powFailed(ProvingFailed):
    """A k2pow-service at ``url`` answered ``status`` (None: no answer) with ``body``."""

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        body: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(f"remote k2pow {url}: {reason}", hint=hint)
        self.url = url
        self.reason = reason
        self.status = status
        self.body = body

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "url": self.url, "status": self.status, "body": self.body}
