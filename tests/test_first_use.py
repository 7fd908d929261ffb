"""What a new user meets first: the packaging metadata and the README's examples."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_license_is_an_spdx_expression() -> None:
    """A TOML table here makes setuptools print a deprecation warning on every install."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert config["project"]["license"] == "MIT"
    requires = config["build-system"]["requires"]
    assert "setuptools>=77" in requires  # the first to read an SPDX license string


def test_the_readme_says_where_the_commands_are() -> None:
    text = (REPO / "README.md").read_text()
    assert "source .venv/bin/activate" in text and "`.venv/bin/mergetool`" in text


def test_the_readme_post_examples_are_test_sized() -> None:
    """The PoST examples are meant to be tried: without --preset test, init writes 64 GiB a unit."""
    section = (REPO / "README.md").read_text().split("## PoST data", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^mergetool post (init|prove|verify|verify-data) .*$", section, re.M)
    assert set(commands) == {"init", "prove", "verify", "verify-data"}
    for line in re.findall(r"^mergetool post (?:init|prove|verify-data) .*$", section, re.M):
        assert "--preset test" in line, line
    assert "--preset test" in section.split("mergetool post verify ", 1)[1].split("\n")[1]
