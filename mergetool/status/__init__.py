"""``mergetool status``: what the node and its PoST services are doing, and whether each
service may be stopped now. Names are re-exported lazily (gRPC is imported only when used)."""

from __future__ import annotations

from mergetool._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "IdentityStatus": "mergetool.status.model",
    "OperatorSpec": "mergetool.status.operators",
    "ServiceState": "mergetool.status.model",
    "StatusReport": "mergetool.status.model",
    "TlsFiles": "mergetool.nodeapi.address",
    "read_status": "mergetool.status.read",
    "wait_safe": "mergetool.status.read",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
