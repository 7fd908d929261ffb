"""The plan carries the SQL a merge runs, and a real run executes exactly those statements."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mergetool.cli.merge_nodes import merge_cmd
from mergetool.merge import execute, plan_merge
from mergetool.node.fixtures import FixtureNode, build_node
from mergetool.node.migrate import migration_statements
from tests.schema_check import loads_valid

#: Statements that change a database; every one a real run executes must be in the plan.
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "ALTER", "DROP")
_SETS_VERSION = "PRAGMA USER_VERSION ="


def _writes(traced: list[str]) -> list[str]:
    found = [s for s in traced if s.lstrip().upper().startswith((*_WRITES, _SETS_VERSION))]
    return [_norm(s) for s in found]


def _planned(plan) -> list[str]:
    return [*plan.source_migration, *(sql for _, sql in plan.copy_sql)]


def _norm(sql: str) -> str:
    return sql.strip().rstrip(";").strip()


@pytest.mark.parametrize("source_version", [5, 7, 9])
def test_a_real_run_executes_exactly_the_planned_statements(
    tmp_path: Path, dst: FixtureNode, source_version: int
) -> None:
    src = build_node(tmp_path / "old", version=source_version, identities=["o1"], prefix="o-")
    plan = plan_merge(src.folder.root, dst.folder.root)
    migrates = source_version < 9
    assert plan.source_migration == (migration_statements(source_version, 9) if migrates else ())
    assert [t for t, _ in plan.copy_sql][0] == "post" and len(plan.copy_sql) >= 4

    traced: list[str] = []
    result = execute(plan, trace=traced.append)

    assert result.merged
    assert _writes(traced) == [_norm(s) for s in _planned(plan)]


def test_nothing_to_copy_means_no_sql(src: FixtureNode, dst: FixtureNode) -> None:
    execute(plan_merge(src.folder.root, dst.folder.root))
    again = plan_merge(src.folder.root, dst.folder.root)
    assert again.already_merged
    assert again.source_migration == () and again.copy_sql == ()
    assert again.to_dict()["sql"] == {"source_migration": [], "copy": []}


def test_dry_run_sql_prints_what_the_run_executes(tmp_path: Path, dst: FixtureNode) -> None:
    src = build_node(tmp_path / "old", version=7, identities=["o1"], prefix="o-")
    runner = CliRunner()
    args = ["-f", str(src.folder.root), "-t", str(dst.folder.root)]
    shown = runner.invoke(merge_cmd, [*args, "--dry-run", "--sql"])
    assert shown.exit_code == 0, shown.output
    as_json = loads_valid(
        runner.invoke(merge_cmd, [*args, "--dry-run", "--json"]).stdout, "merge-report"
    )

    plan = plan_merge(src.folder.root, dst.folder.root)
    for statement in _planned(plan):
        assert statement in shown.stdout
    assert "ALTER TABLE initial_post RENAME TO post;" in shown.stdout
    assert as_json["sql"]["source_migration"] == list(plan.source_migration)
    assert as_json["sql"]["copy"] == [{"table": t, "statement": s} for t, s in plan.copy_sql]

    traced: list[str] = []
    execute(plan, trace=traced.append)
    for statement in as_json["sql"]["source_migration"]:
        assert statement in traced
    for copy in as_json["sql"]["copy"]:
        assert copy["statement"] in traced
