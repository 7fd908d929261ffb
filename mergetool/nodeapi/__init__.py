"""The node's gRPC protocol: the ``.proto`` files and stubs, addresses, TLS files, channels.

Every client of the node (``serve``, ``status``, ``watch``) uses this package; none of them
imports another's internals.
"""

from __future__ import annotations

from mergetool._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "TlsFiles": "mergetool.nodeapi.address",
    "parse_node_address": "mergetool.nodeapi.address",
    "read_pem": "mergetool.nodeapi.address",
    "read_tls": "mergetool.nodeapi.address",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
