"""Regenerate ``schemas/node/local-vN.sql`` from our migrations (the drift check reads them).

Usage: python scripts/write_schemas.py
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from mergetool.node.drift import dump_schema
from mergetool.node.migrate import create_database
from mergetool.node.versions import LATEST_VERSION

OUT = Path(__file__).resolve().parent.parent / "schemas" / "node"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for version in range(1, LATEST_VERSION + 1):
            db = Path(tmp) / f"v{version}.sql"
            create_database(db, version)
            conn = sqlite3.connect(db)
            try:
                (OUT / f"local-v{version}.sql").write_text(dump_schema(conn), encoding="utf-8")
            finally:
                conn.close()
            print(f"wrote {OUT / f'local-v{version}.sql'}")


if __name__ == "__main__":
    main()
