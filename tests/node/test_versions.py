"""``PRAGMA user_version`` -> node release range, refusing what a merge must not touch."""

from __future__ import annotations

from pathlib import Path

import pytest

from mergetool._exceptions import UnsupportedVersion
from mergetool.node.versions import LATEST_VERSION, check_supported, describe

DB = Path("/data/node/local.sql")


def test_latest_version_is_9() -> None:
    assert LATEST_VERSION == 9


@pytest.mark.parametrize(
    ("number", "releases"),
    [(5, "1.4.0 - 1.4.2"), (7, "1.4.3 - 1.5.x"), (8, "1.6.x"), (9, "1.7.x")],
)
def test_released_versions_map_to_their_release_range(number: int, releases: str) -> None:
    version = check_supported(number, DB)
    assert (version.number, version.releases, version.mergeable) == (number, releases, True)
    assert describe(number) == releases


def test_empty_database_is_version_0() -> None:
    version = check_supported(0, DB)
    assert version.number == 0 and "empty" in version.releases


@pytest.mark.parametrize("number", [1, 2])
def test_1_3_databases_are_refused_with_the_nodes_advice(number: int) -> None:
    with pytest.raises(UnsupportedVersion) as info:
        check_supported(number, DB)
    err = info.value
    assert err.version == number and err.path == DB
    assert str(DB) in str(err) and f"user_version {number}" in str(err)
    assert "1.3.x" in str(err)
    assert "Run node v1.4" in str(err.hint)
    assert describe(number) == "1.3.x"


@pytest.mark.parametrize("number", [3, 4, 6])
def test_never_released_versions_are_refused(number: int) -> None:
    with pytest.raises(UnsupportedVersion) as info:
        check_supported(number, DB)
    assert info.value.version == number
    assert str(DB) in str(info.value) and f"user_version {number}" in str(info.value)
    assert "no node release" in str(info.value)
    assert describe(number) == "never released"


@pytest.mark.parametrize("number", [10, 11, 42])
def test_newer_versions_are_refused_as_too_new(number: int) -> None:
    with pytest.raises(UnsupportedVersion) as info:
        check_supported(number, DB)
    assert "too new" in str(info.value)
    assert str(DB) in str(info.value) and f"user_version {number}" in str(info.value)
    assert "upgrade mergetool" in str(info.value.hint)
    assert "newer" in describe(number)


def test_side_is_named_in_the_message() -> None:
    with pytest.raises(UnsupportedVersion, match="source"):
        check_supported(2, DB, side="source database")


def test_negative_versions_are_refused_and_not_called_newer() -> None:
    # user_version is a signed 32-bit value; a negative one is damage, not a newer node.
    with pytest.raises(UnsupportedVersion) as info:
        check_supported(-1, DB)
    assert "user_version -1" in str(info.value)
    assert "newer" not in describe(-1)
