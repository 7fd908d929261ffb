"""``mergetool watch``: is every identity of the node earning, and if not, why and what to do.

Names are re-exported lazily (gRPC is imported only when used).
"""

from __future__ import annotations

from mergetool._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "ClockWindow": "mergetool.watch.clock",
    "IdentityRow": "mergetool.watch.model",
    "NetworkClock": "mergetool.watch.clock",
    "NodeCallFailed": "mergetool.nodeapi.calls",
    "NodeClient": "mergetool.watch.client",
    "NodeEvent": "mergetool.watch.events",
    "PoetTiming": "mergetool.watch.clock",
    "Verdict": "mergetool.watch.model",
    "WatchReport": "mergetool.watch.model",
    "page_view": "mergetool.watch.page",
    "read_watch": "mergetool.watch.read",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
