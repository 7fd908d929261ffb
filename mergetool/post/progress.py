"""Where a proving run is: ``generate_proof`` reports through a :class:`ProveReporter`.

The plain ``progress(done, total)`` callback type every wing shares is
:data:`mergetool._progress.ProgressCallback`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mergetool.post.pow import PowProgress


class ProveReporter:
    """Where a proving run is (``generate_proof``); every method a no-op here: override what
    you show."""

    def pass_started(self, start: int, end: int) -> None:
        """A pass of nonces ``start .. end - 1`` begins (with its k2pow)."""

    def k2pow(self, progress: PowProgress) -> None:
        """k2pow of the pass: groups done, hashes tried."""

    def scanned(self, done: int, total: int) -> None:
        """The scan of the pass: bytes read of all."""
