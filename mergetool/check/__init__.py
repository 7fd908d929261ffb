"""``mergetool check``: is a multi-identity node set up right? (offline, reads only)"""

from __future__ import annotations

from mergetool._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Finding": "mergetool.check.findings",
    "SetupReport": "mergetool.check.setup",
    "check_setup": "mergetool.check.setup",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
