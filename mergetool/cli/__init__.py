"""Command-line front ends: ``merge-nodes`` and ``mergetool``. They render; the library works."""
