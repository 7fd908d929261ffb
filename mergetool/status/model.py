"""What ``status`` reads and reports: frozen values, and how each is shown to an operator."""

from __future__ import annotations

from dataclasses import dataclass

from mergetool.nodeapi.post_states import NODE_STATES  # (PostState.State names)
from mergetool.serviceapi.state import SERVICE_KINDS, ServiceState

__all__ = [
    "NODE_STATES",
    "SERVICE_KINDS",
    "IdentityStatus",
    "NodeIdentity",
    "ServiceState",
    "StatusReport",
]


@dataclass(frozen=True)
class NodeIdentity:
    """One entry of the node's ``PostStates``: a key file of the node and whether it needs a
    proof (PROVING) or not (IDLE)."""

    node_id: bytes
    name: str
    state: str


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
    #: False when the node did not answer (``node_state`` None then means unknown, not absent)
    node_answered: bool = True

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
            "format": 1,  # schemas/json/status.schema.json
            "node": self.node,
            "safe_to_stop": self.safe_to_stop,
            "identities": [i.to_dict() for i in self.identities],
            "errors": list(self.errors),
        }
