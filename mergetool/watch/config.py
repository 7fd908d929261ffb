"""What ``watch`` takes from the node's JSON config: its listeners (``api.grpc-*-listener``),
the coinbase and the PoET timing (``poet.phase-shift``, ``cycle-gap``, ``grace-period``).

The file is read by :func:`mergetool.check.config.read_config` (errors name line and column).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mergetool._exceptions import InvalidInputFile
from mergetool.check.config import read_config
from mergetool.watch.clock import PoetTiming, parse_go_duration

_POET_KEYS = {
    "phase-shift": "phase_shift_s",
    "cycle-gap": "cycle_gap_s",
    "grace-period": "grace_period_s",
}


@dataclass(frozen=True)
class NodeConfig:
    """The parts of the node's config ``watch`` uses; None where the config does not say."""

    private: str | None
    public: str | None
    post: str | None
    coinbase: str | None
    poet: PoetTiming


def dial_address(value: str) -> str | None:
    """A listener as we dial it: ``0.0.0.0``/``[::]``/empty host -> loopback; port 0 (random)
    -> None (nobody can know it)."""
    host, _, port = value.strip().rpartition(":")
    if not port.isdigit() or int(port) == 0:
        return None
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host in ("[::]", "::"):
        host = "[::1]"
    return f"{host}:{port}"


def _string(path: Path, doc: dict[str, Any], section: str, key: str) -> str | None:
    value = doc.get(section, {}).get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInputFile(path, f"{section}.{key} must be a string, got {value!r:.40}")
    return value


def read_node_config(path: Path) -> NodeConfig:
    """The node config at ``path``; InvalidInputFile naming the file and the key at fault."""
    path = Path(path)
    doc, _ = read_config(path)
    listeners = {}
    for name in ("private", "public", "post"):
        value = _string(path, doc, "api", f"grpc-{name}-listener")
        listeners[name] = dial_address(value) if value else None
    timing: dict[str, float] = {}
    for key, attr in _POET_KEYS.items():
        value = _string(path, doc, "poet", key)
        if value is None:
            continue
        try:
            timing[attr] = parse_go_duration(value)
        except ValueError as exc:
            raise InvalidInputFile(path, f"poet.{key}: {exc}") from exc
    poet = PoetTiming(**timing)
    if poet.cycle_gap_s > poet.phase_shift_s:
        raise InvalidInputFile(path, "poet.cycle-gap is longer than poet.phase-shift")
    coinbase = _string(path, doc, "smeshing", "smeshing-coinbase")
    return NodeConfig(listeners["private"], listeners["public"], listeners["post"], coinbase, poet)
