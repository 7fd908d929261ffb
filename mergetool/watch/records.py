"""What the node's listeners answer, as frozen values (the client's return types).

Times are timezone-aware UTC ``datetime``; ids are raw ``bytes``; ``to_dict`` gives JSON
(hex ids, ISO-8601 times).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

#: NodeStatusResponse.SyncStatus by number -> the page's words
SYNC_STATES = ("unknown", "offline", "syncing", "synced")
SMIDGE_PER_SMH = 10**9


def iso(value: datetime | None) -> str | None:
    """``2026-12-02T04:00:00Z`` (whole seconds, UTC), or None."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def jsonable(value: Any) -> Any:
    """bytes -> hex, datetime -> ISO, tuples -> lists, values with to_dict -> dicts."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


class _Record:
    def to_dict(self) -> dict[str, Any]:
        return {f.name: jsonable(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class NodeStatus(_Record):
    """``v2alpha1.NodeService.Status``: sync is synced | syncing | offline | unknown."""

    sync: str
    connected_peers: int
    current_layer: int
    latest_layer: int
    applied_layer: int
    processed_layer: int


@dataclass(frozen=True)
class NetworkInfo(_Record):
    """``v2alpha1.NetworkService.Info``: the network's clock and identity."""

    genesis_time: datetime
    layer_duration_s: float
    layers_per_epoch: int
    effective_genesis_layer: int
    labels_per_unit: int
    hrp: str
    genesis_id: bytes


@dataclass(frozen=True)
class Activation(_Record):
    """One ATX: published in ``publish_epoch``, it makes ``smesher_id`` eligible in the next."""

    id: bytes
    smesher_id: bytes
    publish_epoch: int
    coinbase: str
    weight: int
    height: int
    num_units: int

    @property
    def target_epoch(self) -> int:
        return self.publish_epoch + 1


@dataclass(frozen=True)
class Reward(_Record):
    """One layer's reward for ``smesher`` (``total`` and ``layer_reward`` in smidge)."""

    layer: int
    total: int
    layer_reward: int
    coinbase: str
    smesher: bytes


#: legacy MalfeasanceProof ``type`` (v2alpha1) and v1 ``MalfeasanceType`` -> what was proven
MALFEASANCE_KINDS = {
    0: "unspecified",
    1: "double-published ATX",
    2: "two ballots in one layer",
    3: "hare equivocation",
    4: "ATX with an invalid PoST",
    5: "invalid previous ATX",
}
_DOMAINS = ("unspecified", "activation", "ballot", "hare")


@dataclass(frozen=True)
class Malfeasance(_Record):
    """A proof that ``smesher`` misbehaved: it is banned for good. ``kind`` in words."""

    smesher: bytes
    domain: str
    type: int
    properties: tuple[tuple[str, str], ...]

    @property
    def kind(self) -> str:
        return MALFEASANCE_KINDS.get(self.type, f"type {self.type}")


def domain_name(number: int) -> str:
    return _DOMAINS[number] if 0 <= number < len(_DOMAINS) else f"domain {number}"


def from_timestamp(ts: Any) -> datetime | None:
    """A google.protobuf.Timestamp (None when unset or zero)."""
    if ts is None or (ts.seconds == 0 and ts.nanos == 0):
        return None
    return datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, UTC)
