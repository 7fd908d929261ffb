"""The k2pow-service job address: ``/job/{miner}/{nonce_group}/{challenge8}/{difficulty}``.

Both sides of the HTTP API use this module, so the client and our server cannot disagree
on the format (the spec: miner = 64 hex node id, nonce group decimal, challenge8 = the
first 8 challenge bytes in hex, difficulty = the 32-byte scaled target in hex).
"""

from __future__ import annotations

from dataclasses import dataclass

from mergetool._exceptions import InvalidParameters
from mergetool.node.keys import HEX_DIGITS
from mergetool.post.params import check_32_bytes
from mergetool.post.pow import MAX_GROUP


@dataclass(frozen=True)
class Job:
    """One nonce group's k2pow, as the service is asked for it."""

    miner: bytes  # the node id, 32 bytes
    group: int
    challenge8: bytes  # k2pow reads only the first 8 challenge bytes
    target: bytes  # 32 bytes, big-endian; a hash below it solves the job

    @property
    def path(self) -> str:
        return f"/job/{self.miner.hex()}/{self.group}/{self.challenge8.hex()}/{self.target.hex()}"


def make_job(node_id: bytes, group: int, challenge: bytes, target: bytes) -> Job:
    """The job for ``group``; raises InvalidParameters on a wrong length or group."""
    check_32_bytes("node id", node_id)
    check_32_bytes("target", target)
    if len(challenge) < 8:
        raise InvalidParameters(f"challenge must be at least 8 bytes, got {len(challenge)}")
    if not 0 <= group <= MAX_GROUP:
        raise InvalidParameters(f"nonce group {group} is outside 0 .. {MAX_GROUP}")
    return Job(node_id, group, challenge[:8], target)


#: The one path the API has (anything else is 404).
JOB_PATTERN = "/job/<miner>/<nonce_group>/<challenge8>/<difficulty>"
#: Longest piece of a request quoted back in a message.
_QUOTE = 80


def is_job_path(path: str) -> bool:
    """Whether ``path`` has the shape of a job address (its parts may still be wrong)."""
    parts = path.split("?", 1)[0].strip("/").split("/")
    return len(parts) == 5 and parts[0] == "job"


def parse_job_path(path: str) -> Job:
    """The job a request path names; InvalidParameters says which part is wrong."""
    parts = path.split("?", 1)[0].strip("/").split("/")
    if not is_job_path(path):
        raise InvalidParameters(f"expected {JOB_PATTERN}, got {_short(path)}")
    _, miner, group, challenge8, difficulty = parts
    if not group.isdigit() or not group.isascii():
        raise InvalidParameters(f"nonce group must be a decimal number, got {_short(group)!r}")
    if len(group) > len(str(MAX_GROUP)) + 2:  # (int() of thousands of digits is refused)
        raise InvalidParameters(
            f"nonce group {_short(group)} ({len(group)} digits) is outside 0 .. {MAX_GROUP}"
        )
    return make_job(
        _hex("miner", miner, 32),
        int(group),
        _hex("challenge", challenge8, 8),
        _hex("difficulty", difficulty, 32),
    )


def _hex(name: str, text: str, size: int) -> bytes:
    if len(text) != 2 * size or not HEX_DIGITS.issuperset(text):
        raise InvalidParameters(f"{name} must be {2 * size} hex digits, got {_short(text)!r}")
    return bytes.fromhex(text)


def _short(text: str) -> str:
    return text if len(text) <= _QUOTE else text[:_QUOTE] + "…"
