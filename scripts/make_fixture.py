"""Create a node data folder with test identities (TEST KEYS ONLY) for trying mergetool.

Example: python scripts/make_fixture.py /tmp/node-a --version 9 --identities 3 --wal 1
"""

from __future__ import annotations

from pathlib import Path

import click

from mergetool.node.fixtures import FIXTURE_VERSIONS, build_node


@click.command()
@click.argument("root", type=click.Path(path_type=Path))
@click.option(
    "--version",
    "version",
    type=click.Choice([str(v) for v in FIXTURE_VERSIONS]),
    default=str(FIXTURE_VERSIONS[-1]),
    show_default=True,
    help="local.sql user_version",
)
@click.option("--identities", default=2, show_default=True, help="identities with key and rows")
@click.option("--prefix", default="", help="varies the derived test keys between folders")
@click.option("--supervised", is_flag=True, help="add identities/local.key")
@click.option("--orphans", default=0, help="identities with rows but no key file")
@click.option("--wal", default=0, help="identities whose rows live only in the WAL")
@click.option("--duplicate-key", is_flag=True, help="write the first key twice under two names")
def main(
    root: Path,
    version: str,
    identities: int,
    prefix: str,
    supervised: bool,
    orphans: int,
    wal: int,
    duplicate_key: bool,
) -> None:
    """Build a node data folder at ROOT."""
    node = build_node(
        root,
        version=int(version),
        identities=[f"{prefix}id-{i + 1}" for i in range(identities)],
        prefix=prefix,
        supervised=supervised,
        orphan_rows=orphans,
        wal_identities=[f"{prefix}wal-{i + 1}" for i in range(wal)],
        duplicate_key=duplicate_key,
    )
    for name, node_id in node.identities.items():
        click.echo(f"{name}\t{node_id}")


if __name__ == "__main__":
    main()
