"""merge-nodes --retire-source: the merged keys leave the source node's identities/ folder."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from click.testing import CliRunner, Result

from mergetool.cli.merge_nodes import merge_cmd
from mergetool.merge.journal import JOURNAL_NAME
from mergetool.node.fixtures import FixtureNode, build_node
from tests.schema_check import loads_valid

STAMP = r"merged-\d{8}T\d{6}Z"


def merge(*args: object) -> Result:
    result = CliRunner().invoke(merge_cmd, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def files(root: Path) -> dict[str, bytes]:
    found = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): p.read_bytes() for p in found}


def test_retire_moves_keys_after_the_merge(src: FixtureNode, dst: FixtureNode) -> None:
    ids = src.folder.identities_dir
    before = {n: (ids / n).read_bytes() for n in ("s1.key", "s2.key")}
    (ids / "s1.key").chmod(0o644)  # a retired key is 0600 whatever it was
    db_before = src.folder.db_path.read_bytes()

    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--retire-source")

    assert result.exit_code == 0, result.output
    [folder] = [p for p in ids.iterdir() if p.is_dir()]
    assert re.fullmatch(STAMP, folder.name)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in ids.iterdir()) == [folder.name]  # no *.key left for the node
    for name, data in before.items():
        assert (folder / name).read_bytes() == data
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
        assert f"  {ids / name} -> {folder / name}" in result.output
    assert src.folder.db_path.read_bytes() == db_before
    assert "Retired 2 source key file(s): the source node no longer loads them." in result.output
    assert (
        f"To undo, only after undoing the merge (mergetool restore {dst.folder.root}) or "
        f"removing these identities from the target: mv {folder}/*.key {ids}/ && rmdir {folder}"
    ) in result.output
    assert "--retire-source to move" not in result.output
    assert not (dst.folder.root / JOURNAL_NAME).exists()

    again = merge("-f", src.folder.root, "-t", dst.folder.root, "--retire-source")
    assert again.exit_code == 0, again.output
    assert "Already merged: nothing to do." in again.output
    assert "rows_without_key" not in again.output


def test_dry_run_lists_the_moves_and_writes_nothing(src: FixtureNode, dst: FixtureNode) -> None:
    src_before, dst_before = files(src.folder.root), files(dst.folder.root)

    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--retire-source", "--dry-run")

    assert result.exit_code == 0, result.output
    ids = src.folder.identities_dir
    assert re.search(
        rf"retire source keys after the merge \(2\), moved into {ids}/{STAMP}/", result.output
    )
    assert re.search(rf"    {ids}/s1.key -> {ids}/{STAMP}/s1.key", result.output)
    assert files(src.folder.root) == src_before
    assert files(dst.folder.root) == dst_before
    assert sorted(p.name for p in ids.iterdir()) == ["s1.key", "s2.key"]


def test_json_carries_the_moves(src: FixtureNode, dst: FixtureNode) -> None:
    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--retire-source", "--json")

    assert result.exit_code == 0, result.output
    data = loads_valid(result.output, "merge-report")
    section = data["retire_source"]
    folder = Path(section["folder"])
    assert folder.parent == src.folder.identities_dir
    assert [(m["from"], m["to"]) for m in section["moves"]] == [
        (str(src.folder.identities_dir / n), str(folder / n)) for n in ("s1.key", "s2.key")
    ]
    assert section["undo"].startswith("only after undoing the merge")
    assert [m["to"] for m in data["result"]["keys_retired"]] == [
        str(folder / n) for n in ("s1.key", "s2.key")
    ]


def test_without_the_flag_the_source_is_untouched_and_the_flag_is_suggested(
    src: FixtureNode, dst: FixtureNode
) -> None:
    before = files(src.folder.root)

    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--json")
    assert loads_valid(result.output, "merge-report")["retire_source"] is None
    assert files(src.folder.root) == before

    other = build_node(dst.folder.root.parent / "dst2", identities=["e1"], prefix="re-")
    text = merge("-f", src.folder.root, "-t", other.folder.root)
    assert text.exit_code == 0, text.output
    assert text.output.rstrip().endswith(
        "Tip: run the same command with --retire-source to move the merged key files out of "
        f"{src.folder.identities_dir}/ so the source node cannot load them again."
    )
    assert files(src.folder.root) == before


def test_retire_after_an_earlier_merge_without_the_flag(src: FixtureNode, dst: FixtureNode) -> None:
    assert merge("-f", src.folder.root, "-t", dst.folder.root).exit_code == 0
    dst_before = files(dst.folder.root)

    result = merge("-f", src.folder.root, "-t", dst.folder.root, "--retire-source")

    assert result.exit_code == 0, result.output
    assert "  status: already merged - only the source's key files are retired\n" in result.output
    assert "\nAlready merged: only the source's key files were retired.\n" in result.output
    assert "nothing to do" not in result.output
    assert "stop_source" not in result.output  # they are being retired: no contradiction
    assert "Retired 2 source key file(s)" in result.output
    assert not list(src.folder.identities_dir.glob("*.key"))
    assert len(list(src.folder.identities_dir.glob("merged-*/*.key"))) == 2
    assert files(dst.folder.root) == dst_before


def test_a_refused_merge_retires_nothing(src: FixtureNode, tmp_path: Path) -> None:
    clash = build_node(tmp_path / "clash", identities=["s1"], prefix="other-")
    before = files(src.folder.root)

    result = merge("-f", src.folder.root, "-t", clash.folder.root, "--retire-source")

    assert result.exit_code == 1
    assert files(src.folder.root) == before


def test_already_merged_still_warns_while_the_source_holds_the_keys(
    src: FixtureNode, dst: FixtureNode
) -> None:
    assert merge("-f", src.folder.root, "-t", dst.folder.root).exit_code == 0

    again = merge("-f", src.folder.root, "-t", dst.folder.root)

    assert again.exit_code == 0, again.output
    warning = (
        f"the source node {src.folder.root} still holds the key files of these merged "
        "identities (s1.key, s2.key): do not start it with them again: one identity on two "
        "nodes is equivocation"
    )
    assert again.output.endswith(
        "  status: already merged - nothing to do\n"
        "  warnings:\n"
        f"    [stop_source] {warning}\n"
        "Already merged: nothing to do.\n"
        f"Warning: {warning}\n"
        "Tip: run the same command with --retire-source to move the merged key files out of "
        f"{src.folder.identities_dir}/ so the source node cannot load them again.\n"
    )
    dry = merge("-f", src.folder.root, "-t", dst.folder.root, "--retire-source", "--dry-run")
    assert dry.output.endswith(
        "Dry run: nothing was written.\nTo retire them, run the same command without --dry-run.\n"
    )


def test_after_a_restore_the_retired_keys_are_pointed_at(
    src: FixtureNode, dst: FixtureNode
) -> None:
    from mergetool.cli.main import cli

    assert merge("-f", src.folder.root, "-t", dst.folder.root, "--retire-source").exit_code == 0
    [folder] = [p for p in src.folder.identities_dir.iterdir() if p.is_dir()]
    undo = f"mv {folder}/*.key {src.folder.identities_dir}/ && rmdir {folder}"

    dry = CliRunner().invoke(cli, ["restore", str(dst.folder.root), "--dry-run"])
    assert (
        f"  warning: the source's key files s1.key, s2.key are still retired (merge-nodes "
        f"--retire-source) in {folder}/, where the source node does not load them: after the "
        "restore no node will load them. To merge them again (or run them on the source "
        f"node), move them back first: {undo}\n"
    ) in dry.output
    planned = CliRunner().invoke(cli, ["restore", str(dst.folder.root), "--dry-run", "--json"])
    retired = [str(folder / "s1.key"), str(folder / "s2.key")]
    assert loads_valid(planned.output, "restore")["source_keys_retired"] == retired
    restored = CliRunner().invoke(cli, ["restore", str(dst.folder.root)])
    assert restored.exit_code == 0, restored.output
    assert restored.output.endswith(
        f"The source's key files s1.key, s2.key are still retired (merge-nodes --retire-source) "
        f"in {folder}/, where the source node does not load them: now no node loads them. To "
        "merge them again (or run them on the source node), move them back first: "
        f"{undo}\n"
    )

    refused = merge("-f", src.folder.root, "-t", dst.folder.root)
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"Error: source {src.folder.root} has no identity key (*.key) in "
        f"{src.folder.identities_dir}: nothing to merge; its database holds rows for 2 "
        f"identities; an earlier --retire-source moved its keys into {folder}/ (s1.key, "
        "s2.key), and the target does not hold them (was it restored from a backup?)\n"
        f"To merge them again (or run them on the source node), move them back first: {undo}; "
        "then run the same command again.\n"
    )
