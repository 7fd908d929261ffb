"""When it is safe to stop a PoST service: the node says IDLE for the identity, and the
service is neither proving nor holding a proof the node has not fetched.
"""

from __future__ import annotations

from mergetool.status.model import ServiceState


def judge(
    node_state: str | None,
    service: ServiceState | None,
    service_problem: str | None,
    *,
    node_answered: bool = True,
) -> tuple[bool, str]:
    """``(safe to stop, why)`` for one identity; anything unknown is not safe.

    ``node_answered=False``: the node did not answer, so its state is unknown (not "absent").
    """
    reasons = []
    if not node_answered:
        reasons.append("the node did not answer: its state for this identity is unknown")
    elif node_state is None:
        reasons.append("the node does not list this identity (is --node the right node?)")
    elif node_state == "PROVING":
        reasons.append("the node is waiting for a proof (PROVING)")
    elif node_state != "IDLE":
        reasons.append(f"the node reports {node_state}, not IDLE")
    if service is None:
        reasons.append(service_problem or "its service's state is unknown")
    elif service.kind == "proving":
        reasons.append(f"the service is proving ({service.describe()})")
    elif service.kind == "done":
        reasons.append("the service holds a proof the node has not fetched yet")
    if reasons:
        return False, "; ".join(reasons)
    return True, "the node is IDLE and the service is not proving"
