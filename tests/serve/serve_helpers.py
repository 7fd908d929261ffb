"""Constants shared by the serve tests (import this, not conftest: conftest names collide)."""

from __future__ import annotations

ATX_ID = bytes(range(32, 64))
#: Node ids of the identities the tests serve (any 32 bytes do: no key file is needed).
NODE_IDS = [bytes([i]) * 32 for i in (1, 2, 3)]
UNITS = 2
FILE_SIZE = 2048  # 128 labels per file: 4 files for 2 units of the test preset
