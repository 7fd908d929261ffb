"""The operator-API readers ``status`` uses; they live in :mod:`mergetool.serviceapi.read`
(shared with ``watch``) and are re-exported here for existing imports."""

from __future__ import annotations

from mergetool.serviceapi.read import (
    OperatorSpec,
    parse_operator,
    parse_post_rs_status,
    read_post_rs_status,
    read_serve_identities,
)

__all__ = [
    "OperatorSpec",
    "parse_operator",
    "parse_post_rs_status",
    "read_post_rs_status",
    "read_serve_identities",
]
