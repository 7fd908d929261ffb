"""Where the formats live: the top-level ``schemas/`` folder of the source tree, shipped in
the wheel as the package ``mergetool._schemas`` (one copy, mapped in ``setup.py``)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

#: ``schemas/`` beside this package when it runs from a source tree (``PYTHONPATH``, tests).
_CHECKOUT = Path(__file__).resolve().parent.parent / "schemas"


def formats_root() -> Traversable:
    """The folder of the formats: the source tree's own ``schemas/`` when run from one
    (never another checkout's installed copy), else the installed ``mergetool._schemas``."""
    if (_CHECKOUT / "__init__.py").is_file() and (_CHECKOUT.parent / "pyproject.toml").is_file():
        return _CHECKOUT
    return resources.files("mergetool._schemas")


def node_schema_text(version: int) -> str:
    """The node's ``local-vN.sql`` schema dump at ``version``."""
    return formats_root().joinpath("node", f"local-v{version}.sql").read_text(encoding="utf-8")


def json_schema_names() -> list[str]:
    """The names of the shipped JSON Schemas (``inspect``, ``merge-plan``, …), sorted."""
    suffix = ".schema.json"
    folder = formats_root().joinpath("json")
    return sorted(p.name[: -len(suffix)] for p in folder.iterdir() if p.name.endswith(suffix))


@cache
def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the format ``name``, e.g. ``json_schema("inspect")``."""
    ref = formats_root().joinpath("json", f"{name}.schema.json")
    return json.loads(ref.read_text(encoding="utf-8"))
