"""``mergetool serve``: one process proves PoST for every identity of a node.

The node's own protocol (``PostService.Register``, one stream per identity) over one gRPC
channel, a per-identity state machine that survives reconnects and restarts, disk-aware
scheduling of data passes, one RandomX cache/dataset for all identities, and an operator
HTTP API. Names are re-exported lazily (grpc and numpy load only when used).
"""

from __future__ import annotations

from mergetool._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "IdentityConfig": "mergetool.serve.config",
    "IdentityState": "mergetool.serve.state",
    "ProofStore": "mergetool.serve.store",
    "ServeConfig": "mergetool.serve.config",
    "Service": "mergetool.serve.service",
    "plan_serve": "mergetool.serve.config",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
