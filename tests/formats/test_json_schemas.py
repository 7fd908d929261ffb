"""The JSON Schemas themselves: valid draft 2020-12, each naming its format version, each
used by some test, each listed in the README; and a document that drifts is caught."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from mergetool._formats import json_schema, json_schema_names
from tests.schema_check import assert_valid

REPO = Path(__file__).resolve().parents[2]
DRAFT = "https://json-schema.org/draft/2020-12/schema"
NAMES = json_schema_names()


def test_the_folder_holds_the_schemas_of_every_format() -> None:
    assert len(NAMES) >= 17
    on_disk = sorted(p.name for p in (REPO / "schemas" / "json").iterdir())
    assert on_disk == sorted(f"{name}.schema.json" for name in NAMES)  # nothing else there


@pytest.mark.parametrize("name", NAMES)
def test_each_is_a_valid_draft_2020_12_schema_naming_its_format(name: str) -> None:
    schema = json_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == DRAFT
    match = re.fullmatch(rf"urn:mergetool:schema:{re.escape(name)}:(\d+)", schema["$id"])
    assert match, schema["$id"]
    assert schema["title"] and schema["description"]
    version = int(match[1])
    branches = list(schema["$defs"].values()) if "oneOf" in schema else [schema]
    for branch in branches:
        field = branch["properties"].get("format") or branch["properties"].get("version")
        if field is not None:  # (post-rs's shapes carry none: their description says so)
            const = field["const"]  # 1, or a name and version: "mergetool-watch/1"
            assert const == version or str(const).endswith(f"/{version}"), name
        else:
            assert f"format {version}" in schema["description"].lower(), name


def _names_used_by_tests() -> set[str]:
    used: set[str] = set()
    for path in (REPO / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) in ("assert_valid", "loads_valid")
                and len(node.args) == 2
                and isinstance(node.args[1], ast.Constant)
            ):
                used.add(node.args[1].value)
    return used


def test_every_schema_is_checked_by_some_test() -> None:
    used = _names_used_by_tests()
    assert sorted(set(NAMES) - used) == []  # a schema no output is checked against
    assert sorted(used - set(NAMES)) == []  # a test naming a schema that does not exist


def test_the_readme_lists_every_schema() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [n for n in NAMES if f"schemas/json/{n}.schema.json" not in readme]
    assert missing == []


def test_a_document_that_drifts_from_its_schema_is_caught() -> None:
    doc = {"format": 1, "file": "/n/identities/a.key", "node_id": "ab" * 32, "installed": True}
    assert assert_valid(doc, "add-identity") is doc
    with pytest.raises(AssertionError, match="'extra' was unexpected"):
        assert_valid({**doc, "extra": 1}, "add-identity")
    with pytest.raises(AssertionError, match="'installed' is a required property"):
        assert_valid({k: v for k, v in doc.items() if k != "installed"}, "add-identity")
    with pytest.raises(AssertionError, match="at /format: 1 was expected"):
        assert_valid({**doc, "format": 2}, "add-identity")


def test_a_merge_report_matching_no_branch_says_why_for_each() -> None:
    with pytest.raises(AssertionError) as info:
        assert_valid({"format": 1, "status": "merged"}, "merge-report")
    assert "'source' is a required property" in str(info.value)
