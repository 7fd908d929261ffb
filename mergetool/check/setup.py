"""``check_setup``: is a multi-identity node set up right? Offline, reads only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mergetool.check.against import check_against
from mergetool.check.config import check_config
from mergetool.check.findings import ERROR, NOTE, WARNING, Finding, error, note
from mergetool.check.postdata import Expected, check_post_dirs, read_commitments
from mergetool.node.folder import LOCAL_DB, NodeFolder
from mergetool.post.params import preset as preset_params

JSON_FORMAT_VERSION = 1

#: inspect's warning codes -> (level in a setup check, file at fault relative to the node)
_INSPECT_LEVELS: dict[str, tuple[str, str]] = {
    "supervised": (ERROR, "identities/local.key"),
    "invalid_key": (ERROR, "identities"),
    "duplicate_identity": (ERROR, "identities"),
    "symlink_key": (WARNING, "identities"),
    "rows_without_key": (WARNING, LOCAL_DB),
    "key_without_rows": (NOTE, "identities"),
    "pending_wal": (NOTE, LOCAL_DB + "-wal"),
    "in_use": (NOTE, LOCAL_DB),
}


@dataclass(frozen=True)
class SetupReport:
    """The result of :func:`check_setup`; :meth:`to_dict` is the ``check --json`` form."""

    node_dir: Path
    config: Path | None
    post_dirs: tuple[Path, ...]
    against: tuple[Path, ...]
    preset: str
    findings: tuple[Finding, ...]

    def count(self, level: str) -> int:
        return sum(1 for f in self.findings if f.level == level)

    @property
    def ok(self) -> bool:
        """True when no finding is an error (the CLI's exit 0)."""
        return self.count(ERROR) == 0

    def to_dict(self) -> dict[str, object]:
        return {
            "format": JSON_FORMAT_VERSION,
            "node_dir": str(self.node_dir),
            "config": str(self.config) if self.config else None,
            "post_dirs": [str(d) for d in self.post_dirs],
            "against": [str(a) for a in self.against],
            "preset": self.preset,
            "ok": self.ok,
            "counts": {level: self.count(level) for level in (ERROR, WARNING, NOTE)},
            "findings": [f.to_dict() for f in self.findings],
        }


def _from_inspect(report: object) -> list[Finding]:
    """inspect's warnings, schema problems included, as findings naming their file."""
    from mergetool.node.inspect import NodeReport

    assert isinstance(report, NodeReport)
    root = report.path
    found: list[Finding] = []
    if report.drift_diff:
        found.append(
            error(
                "schema_drift",
                f"{root / LOCAL_DB}: the schema differs from what the node expects at version "
                f"{report.user_version}; the node will refuse it. "
                "See `mergetool inspect` for the difference.",
                root / LOCAL_DB,
            )
        )
    if report.version_problem:
        found.append(
            Finding("unsupported_version", WARNING, report.version_problem, root / LOCAL_DB)
        )
    for w in report.warnings:
        level, where = _INSPECT_LEVELS.get(w.code, (WARNING, "."))
        path = root / where
        message = w.message if str(root) in w.message else f"{root}: {w.message}"
        found.append(Finding(w.code, level, message, path))
    return found


def check_setup(
    node_dir: Path,
    *,
    config: Path | None = None,
    post_dirs: Sequence[Path] = (),
    against: Sequence[Path] = (),
    preset: str = "mainnet",
) -> SetupReport:
    """Check a node folder, its config, its PoST data folders and other nodes' identities.

    Reads only. ``preset`` names the network's PoST parameters ("mainnet" or "test").
    """
    from mergetool.node.inspect import inspect_node

    params = preset_params(preset)
    report = inspect_node(Path(node_dir), database_optional=True)
    root = report.path
    findings = _from_inspect(report)
    if not (root / LOCAL_DB).exists():
        findings.append(
            note(
                "database_not_yet",
                f"{root / LOCAL_DB} does not exist yet: the node has not started in this folder "
                "(it creates the database on its first start); keys, PoST data and config "
                "were checked",
                root / LOCAL_DB,
            )
        )
    keys = {
        bytes.fromhex(i.node_id): root / "identities" / i.file
        for i in report.identities
        if i.valid and i.node_id
    }
    if config is None:
        findings.append(
            note("config_not_checked", "no --config given: the node's config was not checked")
        )
    else:
        findings += check_config(Path(config), params, preset)
    if post_dirs:
        expected = Expected(params, preset, keys, read_commitments(NodeFolder(root)))
        findings += check_post_dirs(post_dirs, expected)
    else:
        findings.append(
            note(
                "post_dirs_not_checked",
                "no --dir given: the PoST data folders were not checked",
            )
        )
    findings += check_against(keys, against)
    return SetupReport(
        node_dir=root,
        config=Path(config) if config is not None else None,
        post_dirs=tuple(map(Path, post_dirs)),
        against=tuple(map(Path, against)),
        preset=preset,
        findings=tuple(findings),
    )
