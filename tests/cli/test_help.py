"""Every command explains itself, and ``--help`` stays fast: no numpy, SQLAlchemy or Alembic."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from mergetool.cli._group import LazyGroup
from mergetool.cli.main import cli

HEAVY = ("numpy", "sqlalchemy", "alembic")


def _walk(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    ctx = click.Context(group, info_name=path[-1] if path else "mergetool")
    found = []
    for name in group.list_commands(ctx):
        found.append((*path, name))
        try:
            sub = group.get_command(ctx, name)
        except Exception:  # noqa: BLE001 - test_command_has_help fails on it, with the error
            continue
        if isinstance(sub, click.Group):
            found += _walk(sub, (*path, name))
    return found


COMMANDS = _walk(cli)


def _resolve(path: tuple[str, ...], root: click.Command = cli) -> click.Command:
    """The command at ``path``: a registered command that does not import fails the test."""
    cmd: click.Command = root
    for name in path:
        assert isinstance(cmd, click.Group)
        sub = cmd.get_command(click.Context(cmd), name)
        assert sub is not None, path
        cmd = sub
    return cmd


@pytest.mark.parametrize(
    "target", ["mergetool.cli.no_such_module:cmd", "mergetool.cli.main:no_such_command"]
)
def test_a_registered_command_that_does_not_import_fails(target: str) -> None:
    @click.group(cls=LazyGroup, commands={"broken": target})
    def group() -> None:
        """A group with one broken entry."""

    assert _walk(group) == [("broken",)]
    with pytest.raises((ImportError, AttributeError)):
        _resolve(("broken",), group)


def test_top_level_and_post_commands_are_registered_one_way() -> None:
    post = _resolve(("post",))
    assert isinstance(cli, LazyGroup) and isinstance(post, LazyGroup)
    assert {"init", "prove", "verify", "verify-data"} <= set(
        post.list_commands(click.Context(post))
    )


def test_the_walk_finds_the_documented_commands() -> None:
    top = {p[0] for p in COMMANDS}
    assert {"inspect", "merge", "post"} <= top


@pytest.mark.parametrize("path", [(), *COMMANDS], ids=lambda p: " ".join(p) or "mergetool")
def test_command_has_help(path: tuple[str, ...]) -> None:
    cmd = _resolve(path)
    assert (cmd.help or "").strip(), f"mergetool {' '.join(path)} has no help text"
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    # click re-wraps the text: compare the first words, white space aside.
    first_words = " ".join(cmd.help.split()[:6])
    assert first_words in " ".join(result.output.split())


def _merge_nodes() -> click.Command:
    module = pytest.importorskip("mergetool.cli.merge_nodes")
    cmd = getattr(module, "merge_cmd", None)
    if cmd is None:
        pytest.skip("merge-nodes is not written yet")
    return cmd


def test_merge_nodes_has_help() -> None:
    cmd = _merge_nodes()
    assert (cmd.help or "").strip()
    result = CliRunner().invoke(cmd, ["--help"])
    assert result.exit_code == 0, result.output
    assert "--from" in result.output and "--to" in result.output


def _every_command() -> list[tuple[str, click.Command]]:
    """``mergetool`` and every command under it (``post …`` included), and ``merge-nodes``."""
    found = [(" ".join(path) or "mergetool", _resolve(path)) for path in [(), *COMMANDS]]
    return [*found, ("merge-nodes", _merge_nodes())]


def test_every_option_of_every_command_has_help() -> None:
    missing = [
        f"{name} {param.opts[0]}"
        for name, cmd in _every_command()
        for param in cmd.params
        if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip()
    ]
    assert not missing, f"options without help text: {missing}"


_PROBE = """
import json, sys
from {module} import main
sys.argv = [{prog!r}, *{args!r}]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})
print(json.dumps({{"code": code, "heavy": heavy}}), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("module", "prog", "args"),
    [
        ("mergetool.cli.main", "mergetool", ["--help"]),
        ("mergetool.cli.main", "mergetool", ["inspect", "--help"]),
        ("mergetool.cli.merge_nodes", "merge-nodes", ["--help"]),
    ],
    ids=["mergetool", "mergetool inspect", "merge-nodes"],
)
def test_help_imports_no_heavy_module(module: str, prog: str, args: list[str]) -> None:
    if module.endswith("merge_nodes"):
        _merge_nodes()
    code = _PROBE.format(module=module, prog=prog, args=args, heavy=HEAVY)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stderr.strip().splitlines()[-1])
    assert result == {"code": 0, "heavy": []}
    assert "Usage:" in proc.stdout
