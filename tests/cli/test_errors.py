"""The one error boundary: library messages name parameters, the CLI shows their flags."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mergetool._exceptions import InvalidParameters, MergeRefused
from mergetool.cli._errors import MergetoolCommand, as_flags
from mergetool.cli.main import cli
from tests.schema_check import loads_valid

ATX = "11" * 32
NODE = "00" * 31 + "07"


@click.command(cls=MergetoolCommand)
@click.option("--from-file", type=int, default=0)
@click.option("--dir", "directory")
@click.option("--no-backup", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def fails(from_file: int, directory: str | None, no_backup: bool, as_json: bool) -> None:
    """Raise the error a library call would."""
    if no_backup:
        raise MergeRefused("backups/ is a file", hint="Or merge with `backup=False`.")
    raise InvalidParameters(
        f"`from_file` {from_file} is after `to_file` 1 in `directory`", parameter="from_file"
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("`from_file` 2 is after `to_file` 1", "--from-file 2 is after --to-file 1"),
        ("use another `directory`", "use another --dir"),  # the option's own flag
        ("merge with `backup=False`", "merge with --no-backup"),
        ("pass `adopt_supervised=True`", "pass --adopt-supervised"),
        ('or `backend="numpy"`', "or --backend numpy"),
        ("pass `node_id=00ff`", "pass --node-id 00ff"),
        (
            "for `randomx_fast=True`; use `randomx_fast=False`",
            "for --randomx-mode fast; use --randomx-mode light",
        ),  # fmt: skip
        ("a smaller `data_size_gib`", "a smaller --data-size"),
        ("try `post verify-data` first", "try `post verify-data` first"),  # a command, kept
    ],
)
def test_parameters_are_shown_as_flags(text: str, shown: str) -> None:
    with click.Context(fails) as ctx:
        assert as_flags(ctx, text) == shown


def test_the_boundary_renders_flags_in_text_and_json() -> None:
    result = CliRunner().invoke(fails, ["--from-file", "3"])
    assert result.exit_code == 2
    assert result.stderr == "Error: --from-file 3 is after --to-file 1 in --dir\n"
    result = CliRunner().invoke(fails, ["--json", "--no-backup"])
    doc = loads_valid(result.stdout, "error")
    assert result.exit_code == 1
    assert doc == {
        "error": "MergeRefused",
        "message": "backups/ is a file",
        "hint": "Or merge with --no-backup.",
    }


def test_the_library_error_names_the_parameter(tmp_path: Path) -> None:
    """verify_data(from_file=…) is told about ``from_file``; ``post verify-data`` about its flag."""
    data = tmp_path / "pd"
    init = ["post", "init", "--dir", str(data), "--node-id", NODE, "--commitment-atx", ATX,
            "--num-units", "1", "--preset", "test", "--backend", "numpy", "--json"]  # fmt: skip
    assert CliRunner().invoke(cli, init).exit_code == 0
    from mergetool.post import verify_data

    with pytest.raises(InvalidParameters) as info:
        verify_data(data, fraction=10.0, scrypt_n=2, from_file=5)
    assert info.value.parameter == "from_file"
    assert info.value.message == "`from_file` 5: the data has files 0 .. 0"
    args = ["post", "verify-data", "--dir", str(data), "--preset", "test", "--fraction", "10"]
    args += ["--from-file", "5"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.stderr == "Error: --from-file 5: the data has files 0 .. 0\n"
