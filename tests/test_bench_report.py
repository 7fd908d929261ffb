"""``scripts/bench.py`` rewrites its own sections of docs/benchmarks.md and keeps the others."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _sections(text: str) -> dict[str, str]:
    parts = text.split("\n## ")[1:]
    return {p.split("\n", 1)[0]: p for p in parts}


def test_a_rerun_keeps_the_hand_measured_sections(tmp_path: Path) -> None:
    report = tmp_path / "benchmarks.md"
    before = (REPO / "docs" / "benchmarks.md").read_text()
    report.write_text(before)
    skip = ["--skip-labels", "--skip-proving", "--skip-verify", "--skip-merge"]
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench.py"), *skip, "--output", str(report)],
        check=True,
        capture_output=True,
    )
    old, new = _sections(before), _sections(report.read_text())
    hand = [t for t in old if t.startswith(("k2pow-service", "Serve"))]
    assert len(hand) == 2
    for title in hand:
        assert new[title].rstrip() == old[title].rstrip()
    assert new["Merge"].startswith("Merge\n\nSkipped on this run (flag).")
    assert list(new)[-2:] == hand  # after the generated ones, in their order
