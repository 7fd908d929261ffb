"""Planning a merge: read both folders, run every check, return the frozen plan.

Writes nothing anywhere, not even a temporary file: databases are read in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mergetool import findings
from mergetool._exceptions import (
    DuplicateIdentity,
    MergeRefused,
    NameCollision,
    RowsAlreadyPresent,
    SchemaDrift,
    SupervisedNode,
    UnsupportedVersion,
    VersionMismatch,
)
from mergetool._fs import check_can_own, missing_dirs
from mergetool.findings import ReportWarning
from mergetool.merge.checks import (
    check_backups_entry,
    check_integrity,
    check_staged_leftovers,
    check_target_path,
)
from mergetool.merge.journal import read_journal
from mergetool.merge.model import (
    IdentityRows,
    KeyInstall,
    KeyMove,
    MergePlan,
    Recovery,
    move_back,
)
from mergetool.merge.postdata import link_post_data
from mergetool.merge.recovery import keys_after_recovery, plan_recovery
from mergetool.merge.retire import plan_retirement, retired_keys
from mergetool.node import sqlite as sq
from mergetool.node.folder import (
    KEY_SUFFIX,
    SUPERVISED_KEY,
    NodeFolder,
    open_folder,
    refuse_linked_database,
)
from mergetool.node.keys import IdentityKey
from mergetool.node.migrate import migration_statements
from mergetool.node.schema import copy_statements
from mergetool.node.state import KeyEntry, NodeState, read_node
from mergetool.node.versions import check_supported, describe


def _check_version(state: NodeState, side: str) -> None:
    check_supported(state.version, state.folder.db_path, f"{side} database")
    if state.drift is not None and state.drift.drifted:
        raise SchemaDrift(state.folder.db_path, state.version, state.drift.diff)


def _duplicates(entries: Iterable[KeyEntry]) -> None:
    seen: dict[bytes, KeyEntry] = {}
    for entry in entries:
        key = entry.node_view  # a symbolic link counts: the node follows it
        if key is None:
            continue
        first = seen.setdefault(key.node_id, entry)
        if first is not entry:
            raise DuplicateIdentity(first.file.path, entry.file.path, key.node_id_hex)


def _rename_for_version(table: str, version: int) -> str:
    if table in ("initial_post", "post"):
        return "post" if version >= 8 else "initial_post"
    return table


@dataclass(frozen=True)
class _SourceKey:
    """A valid source key and the name it gets in the target."""

    entry: KeyEntry
    key: IdentityKey
    target_name: str
    adopted: bool


def _source_keys(source: NodeState, *, adopt_supervised: bool) -> list[_SourceKey]:
    """Every source key with its target file name; refuses invalid and supervised ones."""
    chosen = []
    for entry in source.keys:
        if entry.error is not None:
            raise entry.error
        assert entry.key is not None
        if entry.file.supervised:
            if not adopt_supervised:
                raise SupervisedNode(entry.file.path, "source", adoptable=True)
            chosen.append(
                _SourceKey(entry, entry.key, f"{entry.key.node_id_hex}.key", adopted=True)
            )
        else:
            chosen.append(_SourceKey(entry, entry.key, entry.file.name, adopted=False))
    return chosen


def _target_version(src: NodeState, dst: NodeState, *, create_db: bool) -> int:
    """The version rows are merged at; refuses versions a merge must not touch."""
    _check_version(src, "source")
    if src.version == 0:
        raise UnsupportedVersion(
            src.folder.db_path,
            0,
            "source database is empty or at schema version 0: it holds no node database",
            hint="Give the data folder of a node that has run (node v1.4 or newer): "
            "its local.sql is never empty.",
        )
    if create_db:
        return src.version
    _check_version(dst, "target")
    if dst.version == 0:  # (an empty file: "upgrade the target node first" would mislead)
        raise UnsupportedVersion(
            dst.folder.db_path,
            0,
            "target database is empty or at schema version 0: it holds no node database",
            hint="For a new node, remove the empty local.sql and merge again (a fresh one is "
            "created at the source's version); otherwise put the node's database back "
            "(mergetool restore, if merge-nodes backed it up). Nothing was changed.",
        )
    if src.version > dst.version:
        raise VersionMismatch(
            f"source database {src.folder.db_path} is at version {src.version} "
            f"({describe(src.version)}) but target database {dst.folder.db_path} is at "
            f"{dst.version} ({describe(dst.version)})",
            hint="Upgrade the target node first: run the newer node release on the target "
            "folder once, stop it, then merge again.",
        )
    return dst.version


def _already_merged(
    src: NodeState, dst: NodeState, chosen: list[_SourceKey], dst_keys: list[KeyEntry]
) -> bool:
    """Every source identity already in the target under the same name, with at least as many
    rows (the node goes on writing rows for it after the merge)."""
    by_name = {e.file.name: e.key for e in dst_keys}
    if not chosen and not src.rows:
        return False
    return all(
        (other := by_name.get(k.target_name)) is not None and other.node_id == k.key.node_id
        for k in chosen
    ) and all(sum(dst.rows_of(i).values()) >= sum(src.rows_of(i).values()) for i in src.rows)


def _retired_earlier(
    src: NodeState, dst: NodeState, dst_keys: list[KeyEntry], retired: list[KeyEntry]
) -> bool:
    """A source whose keys an earlier ``--retire-source`` moved aside, all merged here."""
    in_target = {e.key.node_id for e in dst_keys if e.key is not None}
    return (
        bool(retired)
        and all(e.key is not None and e.key.node_id in in_target for e in retired)
        and all(sum(dst.rows_of(i).values()) >= sum(src.rows_of(i).values()) for i in src.rows)
    )


def _retirement(
    src: NodeState, chosen: list[_SourceKey], recovery: Recovery | None
) -> tuple[KeyMove, ...]:
    """Moves of the merged source keys, less those an interrupted run is still retiring."""
    pending = {m.old for m in recovery.retire} if recovery is not None else set()
    keys = [(k.entry.file.path, k.key.node_id_hex) for k in chosen]
    return plan_retirement(src.folder, [k for k in keys if k[0] not in pending])


def _check_conflicts(
    src: NodeState, dst: NodeState, chosen: list[_SourceKey], dst_keys: list[KeyEntry]
) -> None:
    """Refuse one identity under two names, a file name on both sides, rows already there."""
    by_id = {e.node_view.node_id: e for e in dst_keys if e.node_view is not None}
    names = {e.file.name for e in dst_keys}
    for k in chosen:
        other = by_id.get(k.key.node_id)
        if other is not None and other.file.name != k.target_name:
            raise DuplicateIdentity(k.entry.file.path, other.file.path, k.key.node_id_hex)
    collisions = sorted(k.target_name for k in chosen if k.target_name in names)
    if collisions:
        raise NameCollision(collisions, dst.folder.identities_dir)
    ids = {k.key.node_id for k in chosen} | set(src.rows)
    clash = sorted(i.hex() for i in ids if dst.rows_of(i))
    if clash:
        keyless = [i for i in clash if bytes.fromhex(i) not in by_id]
        hint = (
            "The identity already runs on the target node (or did): merging it again "
            "would overwrite its state. Remove it from the source first."
        )
        if keyless:  # e.g. an earlier merge copied its rows while its key file was missing
            hint = (
                f"The target has rows but no key file for {', '.join(keyless[:3])}: if an "
                "earlier merge copied its rows without the key, install only the key (copy "
                "the key file into identities/, or `mergetool add-identity` from its PoST "
                "folder) instead of merging again."
            )
        raise RowsAlreadyPresent(
            f"target database {dst.folder.db_path} already holds rows for "
            f"{len(clash)} source identit{'y' if len(clash) == 1 else 'ies'}: "
            + ", ".join(clash[:5]),
            hint=hint,
        )


def _identity_rows(
    src: NodeState, keyed: dict[bytes, str], version: int
) -> tuple[list[IdentityRows], dict[str, int]]:
    """Rows per source identity and per table, named as at ``version``."""
    identities = []
    totals: dict[str, int] = {}
    for node_id in sorted(src.rows):
        rows = tuple(
            (_rename_for_version(t, version), n) for t, n in sorted(src.rows[node_id].items())
        )
        for t, n in rows:
            totals[t] = totals.get(t, 0) + n
        identities.append(IdentityRows(node_id.hex(), keyed.get(node_id), rows))
    return identities, totals


def _key_like_names(folder: NodeFolder) -> list[str]:
    """Files that look like keys the node will not load (``a.KEY``, ``a.Key``)."""
    try:
        names = [p.name for p in folder.identities_dir.iterdir()]
    except OSError:
        return []
    return sorted(n for n in names if n.lower().endswith(KEY_SUFFIX) and not n.endswith(KEY_SUFFIX))


def _key_warnings(
    src: NodeState, keys: tuple[KeyInstall, ...], *, already: bool, retire_source: bool
) -> list[ReportWarning]:
    found = []
    for k in keys:
        if k.adopted_supervised:
            found.append(
                ReportWarning(
                    "adopted_supervised",
                    f"{src.folder.identities_dir / SUPERVISED_KEY} is installed as "
                    f"{k.target_name}: the source node must never smesh again with it "
                    "(equivocation)",
                )
            )
        elif not src.rows_of(bytes.fromhex(k.node_id)):
            found.append(findings.key_without_rows(k.target_name, "the source"))
    if keys and not already:
        found.append(findings.stop_source(src.folder.root))
    elif keys and not retire_source:  # merged earlier, and the source could still run them
        found.append(
            findings.source_still_holds(src.folder.root, [k.source_file.name for k in keys])
        )
    return found


def _warnings(
    src: NodeState,
    dst: NodeState,
    dst_keys: list[KeyEntry],
    keys: tuple[KeyInstall, ...],
    keyed: dict[bytes, str],
    already: bool,
    retire_source: bool = False,
) -> list[ReportWarning]:
    found = [
        findings.rows_without_key(
            node_id, then="the source's rows are merged like the reference tool does"
        )
        for node_id in sorted(src.rows)
        if node_id not in keyed
    ]
    found += _key_warnings(src, keys, already=already, retire_source=retire_source)
    if src.pending_wal:
        found.append(
            findings.pending_wal(
                src.folder.wal_path, side="source", then="it is read (not modified)"
            )
        )
    found += [
        ReportWarning(
            "ignored_key_like_file",
            f"{src.folder.identities_dir / name} is ignored by the node and by this merge "
            "(only names ending in lower-case .key are identities)",
        )
        for name in _key_like_names(src.folder)
    ]
    if dst.pending_wal:
        found.append(
            findings.pending_wal(
                dst.folder.wal_path,
                side="target",
                then="the merge keeps it (the backup includes it; the merge checkpoints it "
                "into local.sql)",
            )
        )
    found += [
        findings.invalid_key(e.error.message, side="target")
        for e in dst_keys
        if e.error is not None
    ]
    return found


def _read_sides(
    source: Path, target: Path, backup: bool, retire_source: bool
) -> tuple[NodeState, NodeState, int]:
    """Both folders read and checked on their own (paths, owners, in use, versions,
    integrity), and the version the merge happens at."""
    src_folder = open_folder(source, side="source")
    dst_folder = NodeFolder(Path(target))
    check_target_path(src_folder, dst_folder)
    check_can_own(dst_folder.root, dst_folder.identities_dir, dst_folder.backups_dir)
    if retire_source:
        check_can_own(src_folder.identities_dir)
    sq.ensure_not_in_use(src_folder.db_path)
    sq.ensure_not_in_use(dst_folder.db_path)
    if dst_folder.supervised_key.exists():
        raise SupervisedNode(dst_folder.supervised_key, "target")
    refuse_linked_database(dst_folder)
    src = read_node(src_folder)
    if src.bad_ids:  # the copy takes every row: one the node cannot use must not travel
        raise MergeRefused(
            f"source database {src_folder.db_path}: {src.bad_ids[0].describe()}",
            hint="The node cannot use such rows and a merge would copy them into the target. "
            "Remove or repair them in the source first (mergetool inspect lists them all). "
            "Nothing was changed.",
        )
    dst = read_node(dst_folder)
    create_db = not dst_folder.db_path.exists()
    version = _target_version(src, dst, create_db=create_db)
    check_integrity(src, "source")
    check_integrity(dst, "target")
    if backup and not create_db:
        check_backups_entry(dst_folder)
    return src, dst, version


def _nothing_to_merge(src: NodeState, retired: list[KeyEntry]) -> MergeRefused:
    held = f"; its database holds rows for {len(src.rows)} identities" if src.rows else ""
    hint = (
        "Check the `source` path. Merging rows without their keys would also block "
        "merging those identities later."
    )
    folders = sorted({e.file.path.parent for e in retired})
    if folders:  # e.g. merged with retire_source, then the target restored from its backup
        names = ", ".join(e.file.path.name for e in retired)
        held += (
            f"; an earlier `retire_source` moved its keys into "
            f"{', '.join(f'{f}/' for f in folders)} ({names}), and the target does not "
            "hold them (was it restored from a backup?)"
        )
        hint = (
            "To merge them again (or run them on the source node), move them back first: "
            + " && ".join(move_back(f) for f in folders)
            + "; then run the same command again."
        )
    return MergeRefused(
        f"source {src.folder.root} has no identity key (*.key) in "
        f"{src.folder.identities_dir}: nothing to merge{held}",
        hint=hint,
    )


def plan_merge(
    source: Path,
    target: Path,
    *,
    adopt_supervised: bool = False,
    backup: bool = True,
    post_data: Sequence[Path] = (),
    retire_source: bool = False,
) -> MergePlan:
    """Read ``source`` and ``target``, check everything, and return what a merge would do.

    With ``retire_source``, the plan also moves each merged source key file into
    ``SRC/identities/merged-<UTC timestamp>/`` once the target has committed.
    Pure: no byte of either folder changes. Raises a :class:`MergeRefused` (or another
    :class:`MergetoolError`) naming the file or value at fault.
    """
    src, dst, version = _read_sides(source, target, backup, retire_source)
    create_db = not dst.folder.db_path.exists()
    journal = read_journal(dst.folder.root)
    check_staged_leftovers(dst.folder, journal)
    recovery = plan_recovery(dst, journal)
    dst_keys = keys_after_recovery(dst, recovery)
    _duplicates(src.keys)
    _duplicates(dst_keys)
    chosen = _source_keys(src, adopt_supervised=adopt_supervised)
    retired = retired_keys(src.folder)
    already = _already_merged(src, dst, chosen, dst_keys) or (
        not chosen and _retired_earlier(src, dst, dst_keys, retired)
    )
    if not chosen and not already:
        held = {e.key.node_id for e in dst_keys if e.key is not None}
        missing = [e for e in retired if e.key is not None and e.key.node_id not in held]
        raise _nothing_to_merge(src, missing or retired)
    if not already:
        _check_conflicts(src, dst, chosen, dst_keys)

    keyed = {k.key.node_id: k.target_name for k in chosen}
    identities, totals = _identity_rows(src, keyed, version)
    keys = tuple(
        KeyInstall(k.entry.file.path, k.target_name, k.key.node_id_hex, k.adopted) for k in chosen
    )
    # (keys retired by an earlier --retire-source still count as the source's keys)
    known = {e.key.node_id: e.file.name for e in retired if e.key is not None} | keyed
    warnings = _warnings(src, dst, dst_keys, keys, known, already, retire_source)
    merged_ids = {e.key.node_id: e.file.name for e in dst_keys if e.key is not None}
    links, post_warnings = link_post_data(post_data, {**merged_ids, **keyed})
    copying = bool(identities) and not already
    migrating = copying and src.version < version
    return MergePlan(
        source=src.folder.root,
        target=dst.folder.root,
        create_target_db=create_db,
        source_version=src.version,
        target_version=version,
        keys=() if already else keys,
        identities=() if already else tuple(identities),
        already_merged=already,
        backup=backup and not create_db,
        recovery=recovery,
        post_data=links,
        warnings=tuple(warnings + post_warnings),
        table_rows=() if already else tuple(sorted(totals.items())),
        source_migration=migration_statements(src.version, version) if migrating else (),
        copy_sql=tuple(copy_statements(version)) if copying else (),
        new_folders=missing_dirs(dst.folder.root),
        retire_source=retire_source,
        retire=_retirement(src, chosen, recovery) if retire_source else (),
    )
