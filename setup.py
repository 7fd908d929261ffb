"""Package discovery, the one part pyproject.toml cannot say: the top-level ``schemas/``
folder (the formats, kept once) ships inside the wheel as the package ``mergetool._schemas``."""

from pathlib import Path

from setuptools import find_namespace_packages, setup

HERE = Path(__file__).resolve().parent
FORMATS = ["mergetool._schemas"] + [
    f"mergetool._schemas.{d.name}"
    for d in sorted((HERE / "schemas").iterdir())
    if d.is_dir() and d.name.isidentifier() and not d.name.startswith("_")
]

CODE = find_namespace_packages(include=["mergetool*"], exclude=["*.__pycache__"])

setup(
    # Every folder is a package (data-only ones too, e.g. Alembic's versions/), so the generic
    # package-data patterns of pyproject.toml reach every data file.
    packages=[*CODE, *FORMATS],
    package_dir={"mergetool._schemas": "schemas"},
)
