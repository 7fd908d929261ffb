"""The public API of ``mergetool``: pinned, resolvable, and cheap to import."""

from __future__ import annotations

import subprocess
import sys

import pytest

import mergetool
from mergetool._exceptions import MergetoolError

PUBLIC = [
    "AddIdentityPlan",
    "Cancelled",
    "DatabaseError",
    "DatabaseInUse",
    "DuplicateIdentity",
    "FolderLocked",
    "IdentityKey",
    "InvalidKeyFile",
    "InvalidParameters",
    "InvalidProof",
    "K2powCancelled",
    "MergeFailed",
    "MergePlan",
    "MergeRefused",
    "MergeResult",
    "MergetoolError",
    "NameCollision",
    "NodeDataError",
    "NodeReport",
    "NotANodeFolder",
    "PostError",
    "ProvingFailed",
    "RemoteK2powFailed",
    "RestoreError",
    "RestorePlan",
    "RestoreResult",
    "RowsAlreadyPresent",
    "SchemaDrift",
    "ServeError",
    "SetupReport",
    "StatusReport",
    "SupervisedNode",
    "Unreachable",
    "UnsupportedVersion",
    "UsageProblem",
    "VersionMismatch",
    "__version__",
    "add_identity",
    "check_setup",
    "create_database",
    "execute",
    "execute_add_identity",
    "execute_merge",
    "execute_restore",
    "inspect_node",
    "load_key",
    "plan_add_identity",
    "plan_merge",
    "plan_restore",
    "read_status",
    "restore",
    "upgrade_database",
    "wait_safe",
]
EXCEPTIONS = [
    n
    for n in PUBLIC
    if n[0].isupper()
    and n.endswith(("Error", "Refused", "Failed", "Locked", "Cancelled", "Parameters", "Problem"))
]


def test_all_is_pinned_and_sorted() -> None:
    assert mergetool.__all__ == PUBLIC
    assert sorted(PUBLIC) == PUBLIC
    assert dir(mergetool) == PUBLIC


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(mergetool, name) is not None


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        mergetool.no_such_thing  # noqa: B018


def test_exceptions_share_one_root() -> None:
    names = [n for n in PUBLIC if isinstance(getattr(mergetool, n), type)]
    for name in names:
        cls = getattr(mergetool, name)
        if issubclass(cls, Exception):
            assert issubclass(cls, MergetoolError), name
    assert set(EXCEPTIONS) <= set(names)


def test_node_api_is_the_node_modules() -> None:
    from mergetool.node import inspect, keys, migrate

    assert mergetool.IdentityKey is keys.IdentityKey
    assert mergetool.load_key is keys.load_key
    assert mergetool.inspect_node is inspect.inspect_node
    assert mergetool.create_database is migrate.create_database
    assert mergetool.upgrade_database is migrate.upgrade_database


def test_importing_mergetool_is_cheap() -> None:
    code = (
        "import sys, mergetool\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('numpy', 'sqlalchemy', 'alembic', 'nacl', 'cryptography')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_serve_and_k2pow_errors_are_the_library_classes() -> None:
    from mergetool import _exceptions, k2pow

    assert mergetool.FolderLocked is _exceptions.FolderLocked
    assert mergetool.ServeError is _exceptions.ServeError
    assert mergetool.RemoteK2powFailed is k2pow.RemoteK2powFailed
    assert mergetool.K2powCancelled is k2pow.K2powCancelled
    assert mergetool.FolderLocked.exit_code == mergetool.ServeError.exit_code == 1


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("mergetool.execute", "mergetool.execute_merge"),
        ("mergetool.add_identity", "mergetool.execute_add_identity"),
        ("mergetool.restore", None),  # plans and executes in one call; no pair name to follow
        # (``mergetool.post.initialize`` is also the submodule's name: once that is imported,
        # the package attribute is the module, so the alias is only reliable from the module)
        ("mergetool.post.initialize.initialize", "mergetool.post.initialize.execute_init"),
    ],
)
def test_plan_execute_pairs_keep_their_old_names_as_aliases(alias: str, name: str | None) -> None:
    """Every pair is ``plan_X`` / ``execute_X``; the names used before stay, as aliases."""
    import importlib

    def resolve(dotted: str) -> object:
        module, _, attr = dotted.rpartition(".")
        return getattr(importlib.import_module(module), attr)

    if name is None:
        assert callable(resolve(alias))
        return
    assert resolve(alias) is resolve(name)
    pair = name.rpartition(".")[2].replace("execute_", "plan_")
    assert callable(resolve(f"{name.rpartition('.')[0]}.{pair}"))
