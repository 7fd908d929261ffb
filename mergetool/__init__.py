"""mergetool: merge Spacemesh node data folders safely; check and exercise PoST data.

The public API is re-exported here and imported lazily, so that ``merge-nodes --help``
stays fast. See README.md for a tour.
"""

from __future__ import annotations

from mergetool._lazy import lazy_exports
from mergetool._version import __version__

_EXPORTS: dict[str, str] = {
    "AddIdentityPlan": "mergetool.merge.add_identity",
    "IdentityKey": "mergetool.node.keys",
    "MergePlan": "mergetool.merge.model",
    "MergeResult": "mergetool.merge.model",
    "NodeReport": "mergetool.node.inspect",
    "SetupReport": "mergetool.check.setup",
    "StatusReport": "mergetool.status.model",
    "add_identity": "mergetool.merge.add_identity",
    "check_setup": "mergetool.check.setup",
    "create_database": "mergetool.node.migrate",
    "execute": "mergetool.merge.execute",
    "execute_add_identity": "mergetool.merge.add_identity",
    "execute_merge": "mergetool.merge.execute",
    "inspect_node": "mergetool.node.inspect",
    "load_key": "mergetool.node.keys",
    "plan_add_identity": "mergetool.merge.add_identity",
    "plan_merge": "mergetool.merge.plan",
    "RestorePlan": "mergetool.backup.restore",
    "RestoreResult": "mergetool.backup.restore",
    "execute_restore": "mergetool.backup.restore",
    "plan_restore": "mergetool.backup.restore",
    "restore": "mergetool.backup.restore",
    "read_status": "mergetool.status.read",
    "upgrade_database": "mergetool.node.migrate",
    "wait_safe": "mergetool.status.read",
    # the exception hierarchy (see mergetool/_exceptions/__init__.py)
    **{
        name: "mergetool._exceptions"
        for name in (
            "Cancelled",
            "DatabaseError",
            "DatabaseInUse",
            "DuplicateIdentity",
            "FolderLocked",
            "InvalidKeyFile",
            "InvalidParameters",
            "InvalidProof",
            "K2powCancelled",
            "MergeFailed",
            "MergeRefused",
            "MergetoolError",
            "NameCollision",
            "NodeDataError",
            "NotANodeFolder",
            "PostError",
            "ProvingFailed",
            "RemoteK2powFailed",
            "RestoreError",
            "RowsAlreadyPresent",
            "SchemaDrift",
            "ServeError",
            "SupervisedNode",
            "UnsupportedVersion",
            "Unreachable",
            "UsageProblem",
            "VersionMismatch",
        )
    },
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, {"__version__": __version__})
