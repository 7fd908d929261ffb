"""Planning a merge: read both folders, run every check, return the frozen plan.

Writes nothing anywhere, not even a temporary file: databases are read in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from mergetool._exceptions import (
    DuplicateIdentity,
    InvalidKeyFile,
    NameCollision,
    RowsAlreadyPresent,
    SchemaDrift,
    SupervisedNode,
    UsageProblem,
    VersionMismatch,
)
from mergetool.merge.journal import Journal, read_journal
from mergetool.merge.model import (
    Finding,
    IdentityRows,
    KeyInstall,
    MergePlan,
    Recovery,
)
from mergetool.merge.postdata import link_post_data
from mergetool.node import sqlite as sq
from mergetool.node.folder import SUPERVISED_KEY, IdentityFile, NodeFolder, open_folder
from mergetool.node.keys import load_key
from mergetool.node.state import KeyEntry, NodeState, read_node
from mergetool.node.versions import LATEST_VERSION, check_supported, describe


def _check_version(state: NodeState, side: str) -> None:
    check_supported(state.version, state.folder.db_path, f"{side} database")
    if state.drift is not None and state.drift.drifted:
        raise SchemaDrift(state.folder.db_path, state.version, state.drift.diff)


def _duplicates(entries: Iterable[KeyEntry]) -> None:
    seen: dict[bytes, KeyEntry] = {}
    for entry in entries:
        if entry.key is None:
            continue
        first = seen.setdefault(entry.key.node_id, entry)
        if first is not entry:
            raise DuplicateIdentity(first.file.path, entry.file.path, entry.key.node_id_hex)


def _rename_for_version(table: str, version: int) -> str:
    if table in ("initial_post", "post"):
        return "post" if version >= 8 else "initial_post"
    return table


def _all_staged(target: NodeState, journal: Journal) -> bool:
    """Every key of ``journal`` staged whole (or already installed)."""
    ids = target.folder.identities_dir
    for k in journal.keys:
        if (ids / k.final).exists():
            continue
        try:
            if load_key(ids / k.staged).node_id_hex != k.node_id:
                return False
        except InvalidKeyFile:
            return False
    return True


def _recovery(target: NodeState, journal: Journal | None) -> Recovery | None:
    if journal is None:
        return None
    # With rows, their transaction is the commit point; without, having staged every key is.
    if journal.expected_rows == 0:
        committed = _all_staged(target, journal)
    else:
        committed = any(target.rows_of(bytes.fromhex(n)) for n in journal.node_ids)
    return Recovery(
        action="roll-forward" if committed else "roll-back",
        journal=journal.path,
        staged=tuple((k.staged, k.final) for k in journal.keys),
    )


def _keys_after_recovery(target: NodeState, recovery: Recovery | None) -> list[KeyEntry]:
    """The target's key files as they will be once an interrupted merge is rolled forward."""
    entries = list(target.keys)
    if recovery is None or recovery.action != "roll-forward":
        return entries
    present = {e.file.name for e in entries}
    for staged, final in recovery.staged:
        if final in present:
            continue
        staged_path = target.folder.identities_dir / staged
        key = load_key(staged_path)  # raises InvalidKeyFile naming the staged file
        entries.append(KeyEntry(IdentityFile(target.folder.identities_dir / final, False), key))
    return entries


def _source_keys(source: NodeState, adopt_supervised: bool) -> list[tuple[KeyEntry, str, bool]]:
    """(entry, target file name, adopted) for every source key; refuses invalid ones."""
    chosen = []
    for entry in source.keys:
        if entry.error is not None:
            raise entry.error
        assert entry.key is not None
        if entry.file.supervised:
            if not adopt_supervised:
                raise SupervisedNode(entry.file.path, "source", adoptable=True)
            chosen.append((entry, f"{entry.key.node_id_hex}.key", True))
        else:
            chosen.append((entry, entry.file.name, False))
    return chosen


def plan_merge(
    source: Path,
    target: Path,
    *,
    adopt_supervised: bool = False,
    backup: bool = True,
    post_data: Sequence[Path] = (),
) -> MergePlan:
    """Read ``source`` and ``target``, check everything, and return what a merge would do.

    Pure: no byte of either folder changes. Raises a :class:`MergeRefused` (or another
    :class:`MergetoolError`) naming the file or value at fault.
    """
    src_folder = open_folder(source, side="source")
    dst_folder = NodeFolder(Path(target))
    if dst_folder.root.exists() and not dst_folder.root.is_dir():
        open_folder(target, side="target")  # raises "not a directory"
    if dst_folder.root.exists() and dst_folder.root.samefile(src_folder.root):
        raise UsageProblem(f"{target}: source and target are the same folder")
    sq.ensure_not_in_use(src_folder.db_path)
    sq.ensure_not_in_use(dst_folder.db_path)
    if dst_folder.supervised_key.exists():
        raise SupervisedNode(dst_folder.supervised_key, "target")
    src = read_node(src_folder)
    dst = read_node(dst_folder)
    _check_version(src, "source")
    create_db = not dst_folder.db_path.exists()
    target_version = src.version if create_db else dst.version
    if not create_db:
        _check_version(dst, "target")
        if src.version > dst.version:
            raise VersionMismatch(
                f"source database {src_folder.db_path} is at version {src.version} "
                f"({describe(src.version)}) but target database {dst_folder.db_path} is at "
                f"{dst.version} ({describe(dst.version)})",
                hint="Upgrade the target node first: run the newer node release on the target "
                "folder once, stop it, then merge again.",
            )
    if create_db and src.version == 0:
        target_version = LATEST_VERSION

    recovery = _recovery(dst, read_journal(dst_folder.root))
    dst_keys = _keys_after_recovery(dst, recovery)
    _duplicates(src.keys)
    _duplicates(dst_keys)
    chosen = _source_keys(src, adopt_supervised)
    warnings: list[Finding] = []

    dst_by_name = {e.file.name: e for e in dst_keys}
    dst_by_id = {e.key.node_id: e for e in dst_keys if e.key is not None}
    src_ids = {e.key.node_id for e, _, _ in chosen if e.key} | set(src.rows)

    # Exactly this merge already done? Every source identity present under the same name
    # with the same number of rows: report "already merged" and change nothing.
    def installed(entry: KeyEntry, name: str) -> bool:
        other = dst_by_name.get(name)
        return bool(other and other.key and entry.key and other.key.node_id == entry.key.node_id)

    already = (
        bool(src_ids)
        and all(installed(e, n) for e, n, _ in chosen)
        and all(sum(dst.rows_of(i).values()) == sum(src.rows_of(i).values()) for i in src.rows)
    )
    if not already:
        collisions = sorted(n for _, n, _ in chosen if n in dst_by_name)
        for entry, name, _ in chosen:
            other = dst_by_id.get(entry.key.node_id) if entry.key else None
            if other is not None and other.file.name != name:
                raise DuplicateIdentity(entry.file.path, other.file.path, entry.key.node_id_hex)
        if collisions:
            raise NameCollision(collisions, dst_folder.identities_dir)
        clash = sorted(i.hex() for i in src_ids if dst.rows_of(i))
        if clash:
            raise RowsAlreadyPresent(
                f"target database {dst_folder.db_path} already holds rows for "
                f"{len(clash)} source identit{'y' if len(clash) == 1 else 'ies'}: "
                + ", ".join(clash[:5]),
                hint="The identity already runs on the target node (or did): merging it again "
                "would overwrite its state. Remove it from the source first.",
            )

    keyed = {e.key.node_id: n for e, n, _ in chosen if e.key}
    identities = []
    totals: dict[str, int] = {}
    for node_id in sorted(src.rows):
        rows = tuple(
            (_rename_for_version(t, target_version), n)
            for t, n in sorted(src.rows[node_id].items())
        )
        for t, n in rows:
            totals[t] = totals.get(t, 0) + n
        identities.append(IdentityRows(node_id.hex(), keyed.get(node_id), rows))
        if node_id not in keyed:
            warnings.append(
                Finding(
                    "rows_without_key",
                    f"source rows for {node_id.hex()} have no key file; they are merged like "
                    "the reference tool does",
                )
            )
    keys = tuple(
        KeyInstall(e.file.path, n, e.key.node_id_hex, adopted) for e, n, adopted in chosen if e.key
    )
    for k in keys:
        if k.adopted_supervised:
            warnings.append(
                Finding(
                    "adopted_supervised",
                    f"{src_folder.identities_dir / SUPERVISED_KEY} is installed as "
                    f"{k.target_name}: "
                    "the source node must never smesh again with it (equivocation)",
                )
            )
        elif not src.rows_of(bytes.fromhex(k.node_id)):
            warnings.append(
                Finding("key_without_rows", f"{k.target_name} has no rows in the source")
            )
    if keys and not already:
        warnings.append(
            Finding(
                "stop_source",
                f"after the merge, do not start the source node {src_folder.root} with these "
                "identities again: one identity on two nodes is equivocation",
            )
        )
    if src.pending_wal:
        warnings.append(
            Finding(
                "source_pending_wal",
                f"{src_folder.wal_path} holds data not yet checkpointed; it is read (not modified)",
            )
        )
    for entry in dst_keys:
        if entry.error is not None:
            warnings.append(Finding("target_invalid_key", entry.error.message))
    links, post_warnings = link_post_data(
        post_data, {**{i: e.file.name for i, e in dst_by_id.items()}, **keyed}
    )
    warnings += post_warnings
    return MergePlan(
        source=src_folder.root,
        target=dst_folder.root,
        create_target_db=create_db,
        source_version=src.version,
        target_version=target_version,
        keys=() if already else keys,
        identities=() if already else tuple(identities),
        already_merged=already,
        backup=backup and not create_db,
        recovery=recovery,
        post_data=links,
        warnings=tuple(warnings),
        table_rows=() if already else tuple(sorted(totals.items())),
    )
