"""The JSON documents tests see, checked against their schemas in ``schemas/json/``, so the
schemas cannot drift from the code: ``data = loads_valid(result.stdout, "inspect")``."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from mergetool._formats import json_schema


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(json_schema(name))


def assert_valid(doc: Any, name: str) -> Any:
    """``doc`` if it matches ``schemas/json/<name>.schema.json``; else every mismatch, listed."""
    errors = sorted(_validator(name).iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        # (a document that matches none of a oneOf's branches: say why for each branch)
        found = "\n".join(
            f"  at /{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for error in errors
            for e in [error, *sorted(error.context or [], key=lambda c: str(c.schema_path))]
        )
        raise AssertionError(f"not a valid {name} document:\n{found}")
    return doc


def loads_valid(text: str | bytes, name: str) -> Any:
    """``json.loads(text)``, checked with :func:`assert_valid`."""
    return assert_valid(json.loads(text), name)
