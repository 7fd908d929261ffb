"""docs/architecture.md stays true: the paths it names exist, every package is in its map,
the imports its "Layers" table forbids are absent, and the README links it."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_structure import MODULES, _imports

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "architecture.md"


def test_every_path_the_map_names_exists() -> None:
    named = set(re.findall(r"`(mergetool/[^`\s]*)`", DOC.read_text()))
    assert len(named) > 20  # the pattern still finds the paths
    missing = sorted(p for p in named if not (REPO / p).exists())
    assert missing == []


def test_the_readme_links_the_map() -> None:
    assert "(docs/architecture.md)" in (REPO / "README.md").read_text()


def test_every_package_is_in_the_map() -> None:
    text = DOC.read_text()
    packages = sorted(
        f"{p.parent.relative_to(REPO).as_posix()}/"
        for p in (REPO / "mergetool").rglob("__init__.py")
        if p.parent != REPO / "mergetool"
    )
    assert len(packages) > 10
    missing = [p for p in packages if f"`{p}`" not in text]
    assert missing == []


def _layer_rules() -> list[tuple[list[str], list[str], list[str]]]:
    """(importers, exempt, forbidden) per row of the map's "Layers" table."""
    section = DOC.read_text().split("## Layers", 1)[1].split("\n## ", 1)[0]
    rules = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        who, _, exempt = cells[0].partition("except")
        rules.append(
            (
                re.findall(r"`([\w.]+)`", who),
                re.findall(r"`([\w.]+)`", exempt),
                re.findall(r"`([\w.]+)`", cells[1]),
            )
        )
    return rules


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def test_the_layers_table_is_read() -> None:
    rules = _layer_rules()
    assert (["mergetool"], ["mergetool.cli"], ["mergetool.cli"]) in rules
    assert (["mergetool.merge"], [], ["mergetool.post"]) in rules
    assert len(rules) >= 6


def test_no_module_imports_what_the_layers_table_forbids() -> None:
    broken = []
    for name, path in MODULES.items():
        imported = _imports(name, path)
        for importers, exempt, forbidden in _layer_rules():
            if not any(_within(name, i) for i in importers):
                continue
            if any(_within(name, e) for e in exempt):
                continue
            broken += [
                f"{name} imports {t}"
                for t in sorted(imported)
                if any(_within(t, f) for f in forbidden)
            ]
    assert broken == []
