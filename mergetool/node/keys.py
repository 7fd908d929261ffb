"""Identity key files, loaded and written exactly as the node does."""

from __future__ import annotations

import errno
import os
import stat
import string
from dataclasses import dataclass, field
from pathlib import Path

from nacl.signing import SigningKey

from mergetool._exceptions import InvalidKeyFile
from mergetool._fs import ensure_private_dir, write_file_atomic

KEY_HEX_LEN = 128
HEX_DIGITS = frozenset(string.hexdigits)


@dataclass(frozen=True)
class IdentityKey:
    """An ed25519 identity: the 32-byte seed (never shown) and its public key (the node id)."""

    seed: bytes = field(repr=False)
    public_key: bytes

    @property
    def node_id(self) -> bytes:
        return self.public_key

    @property
    def node_id_hex(self) -> str:
        return self.public_key.hex()

    def __repr__(self) -> str:
        return f"IdentityKey(node_id={self.node_id_hex})"

    __str__ = __repr__

    def __reduce__(self) -> object:
        raise TypeError("identity keys are not picklable: they hold private material")

    def to_file_bytes(self) -> bytes:
        """The 128 lower-case hex characters the node writes (seed ‖ public key)."""
        return (self.seed + self.public_key).hex().encode("ascii")

    @classmethod
    def generate(cls) -> IdentityKey:
        signing = SigningKey.generate()
        return cls(seed=bytes(signing), public_key=bytes(signing.verify_key))

    @classmethod
    def from_seed(cls, seed: bytes) -> IdentityKey:
        return cls(seed=seed, public_key=bytes(SigningKey(seed).verify_key))


def parse_key(data: bytes, path: Path) -> IdentityKey:
    """Validate key file content by the node's rules; raise InvalidKeyFile naming the defect."""
    if len(data) == 0:
        raise InvalidKeyFile(path, "the file is empty")
    if len(data) != KEY_HEX_LEN:
        extra = ""
        if data.rstrip(b"\r\n") != data and len(data.rstrip(b"\r\n")) == KEY_HEX_LEN:
            extra = " (it ends with a line break; the node accepts no trailing newline)"
        raise InvalidKeyFile(
            path, f"expected exactly {KEY_HEX_LEN} hex characters, found {len(data)} bytes{extra}"
        )
    bad = next((i for i, byte in enumerate(data) if chr(byte) not in HEX_DIGITS), None)
    if bad is not None:
        raise InvalidKeyFile(path, f"not hex encoded (first bad character at offset {bad})")
    text = data.decode("ascii")
    raw = bytes.fromhex(text)
    seed, public = raw[:32], raw[32:]
    derived = IdentityKey.from_seed(seed)
    if derived.public_key != public:
        raise InvalidKeyFile(path, "private and public halves do not match")
    return derived


def load_key(path: Path) -> IdentityKey:
    """Read and validate one key file; never follows a symlink."""
    try:
        # O_NONBLOCK: a FIFO named *.key must not hang us (no effect on regular files).
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        reason = "it is a symbolic link" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
        raise InvalidKeyFile(path, f"cannot read it: {reason}") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise InvalidKeyFile(path, "not a regular file")
    with os.fdopen(fd, "rb") as fh:
        if info.st_size > KEY_HEX_LEN + 2:
            raise InvalidKeyFile(
                path, f"expected exactly {KEY_HEX_LEN} hex characters, found {info.st_size} bytes"
            )
        try:
            data = fh.read(KEY_HEX_LEN + 2)
        except OSError as exc:
            raise InvalidKeyFile(path, f"cannot read it: {exc.strerror or exc}") from exc
    return parse_key(data, path)


def write_key(key: IdentityKey, path: Path) -> None:
    """Install a key file in the node's format atomically: mode 0600 inside a 0700 folder."""
    ensure_private_dir(path.parent)
    write_file_atomic(path, key.to_file_bytes())
