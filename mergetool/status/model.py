"""What ``status`` reads and reports: frozen values, and how each is shown to an operator."""

from __future__ import annotations

from dataclasses import dataclass

#: PostStates values (spacemesh.v1.PostState.State)
NODE_STATES = ("UNUSED", "IDLE", "PROVING")
#: What a service's identity is doing: idle, proving (k2pow or reading) or done (not fetched).
SERVICE_KINDS = ("idle", "proving", "done")


@dataclass(frozen=True)
class NodeIdentity:
    """One entry of the node's ``PostStates``: a key file of the node and whether it needs a
    proof (PROVING) or not (IDLE)."""

    node_id: bytes
    name: str
    state: str


@dataclass(frozen=True)
class ServiceState:
    """What a PoST service's operator API says about one identity."""

    #: the operator URL that answered
    source: str
    kind: str
    #: whether the service's stream to the node is up; None when the API does not say (post-rs)
    connected: bool | None = None
    #: while proving: "k2pow", "reading" or "waiting-for-disk" (None when unknown)
    phase: str | None = None
    bytes_read: int | None = None
    bytes_total: int | None = None
    k2pow_groups: tuple[int, int] | None = None
    #: what the API calls the identity (mergetool serve), or None
    name: str | None = None
    #: why the last proving run failed (mergetool serve), shown instead of a bare "idle"
    last_error: str | None = None
    #: what fails right now while it proves (e.g. the remote k2pow), or None
    problem: str | None = None

    def describe(self) -> str:
        """``idle``, ``k2pow``, ``reading 40 %``, ``done, not fetched``, ``not connected``…"""
        if self.kind == "idle":
            text = (
                "idle" if not self.last_error else f"last attempt failed: {_short(self.last_error)}"
            )
        elif self.kind == "done":
            text = "done, not fetched"
        elif self.phase == "k2pow":
            text = "k2pow"
            if self.k2pow_groups and self.k2pow_groups[1]:
                text += f" ({self.k2pow_groups[0]}/{self.k2pow_groups[1]} groups)"
        elif self.phase == "reading":
            if self.bytes_total:
                text = f"reading {100 * (self.bytes_read or 0) / self.bytes_total:.0f} %"
            else:
                text = f"reading, {_size(self.bytes_read or 0)} read"
        elif self.phase == "waiting-for-disk":
            text = "waiting for disk"
        else:
            text = "proving"
        if self.kind == "proving" and self.problem:
            text += f"; {_short(self.problem)}"
        if self.connected is False:
            return "not connected" if text == "idle" else f"not connected, {text}"
        return text


def _short(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class IdentityStatus:
    """One row of ``status``: an identity, what the node and its service say, and the verdict."""

    node_id: bytes
    name: str | None
    #: PostStates value, or None when the node does not list the identity (or did not answer)
    node_state: str | None
    service: ServiceState | None
    #: why there is no service state (an operator that did not answer, none given)
    service_problem: str | None
    safe_to_stop: bool
    reason: str

    @property
    def service_state(self) -> str:
        if self.service is not None:
            return self.service.describe()
        return "unknown"

    def to_dict(self) -> dict[str, object]:
        service = self.service
        return {
            "node_id": self.node_id.hex(),
            "name": self.name,
            "node_state": self.node_state,
            "service_state": self.service_state,
            "safe_to_stop": self.safe_to_stop,
            "reason": self.reason,
            "operator": service.source if service else None,
            "connected": service.connected if service else None,
            "phase": service.phase if service else None,
            "bytes_read": service.bytes_read if service else None,
            "bytes_total": service.bytes_total if service else None,
            "last_error": service.last_error if service else None,
        }


@dataclass(frozen=True)
class StatusReport:
    """The result of :func:`~mergetool.status.read_status`; ``to_dict`` is ``status --json``."""

    node: str
    identities: tuple[IdentityStatus, ...]
    #: every node or service that did not answer as it should, with its address
    errors: tuple[str, ...]

    @property
    def safe_to_stop(self) -> bool:
        """True when everything answered and every identity is safe to stop."""
        return not self.errors and all(i.safe_to_stop for i in self.identities)

    def to_dict(self) -> dict[str, object]:
        return {
            "node": self.node,
            "safe_to_stop": self.safe_to_stop,
            "identities": [i.to_dict() for i in self.identities],
            "errors": list(self.errors),
        }
