"""Schema versions of ``local.sql`` (``PRAGMA user_version``) and the node releases using them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mergetool._exceptions import UnsupportedVersion

LATEST_VERSION = 9
#: Oldest version a merge accepts: what node 1.4.0 writes.
MIN_MERGE_VERSION = 5


@dataclass(frozen=True)
class SchemaVersion:
    """One ``user_version`` value and what the node makes of it."""

    number: int
    releases: str
    mergeable: bool


_RELEASES: dict[int, tuple[str, bool]] = {
    0: ("empty database (no release)", True),
    1: ("1.3.x", False),
    2: ("1.3.x", False),
    5: ("1.4.0 - 1.4.2", True),
    7: ("1.4.3 - 1.5.x", True),
    8: ("1.6.x", True),
    9: ("1.7.x", True),
}


def describe(number: int) -> str:
    """Human name of a version, also for ones the node never released."""
    known = _RELEASES.get(number)
    if known:
        return known[0]
    if 0 < number < LATEST_VERSION:
        return "never released"
    if number < 0:
        return "invalid (negative)"
    return "unknown (newer than this tool knows)"


def check_supported(number: int, path: Path, side: str = "database") -> SchemaVersion:
    """Map ``user_version`` to a release range, refusing what a merge must not touch."""
    if number in (1, 2):
        raise UnsupportedVersion(
            path,
            number,
            f"{side} is from node 1.3.x (old database version)",
            hint="Run node v1.4 (or newer) on this data folder first so it upgrades its "
            "database, stop it, then try again.",
        )
    if number > LATEST_VERSION:
        raise UnsupportedVersion(
            path,
            number,
            f"{side} version is too new",
            hint=f"This mergetool knows versions up to {LATEST_VERSION} (node "
            f"{_RELEASES[LATEST_VERSION][0]}); upgrade mergetool.",
        )
    known = _RELEASES.get(number)
    if known is None:
        raise UnsupportedVersion(
            path,
            number,
            f"{side} has a schema version no node release uses",
            hint="The file may be damaged or written by a development build of the node.",
        )
    return SchemaVersion(number, known[0], known[1])
