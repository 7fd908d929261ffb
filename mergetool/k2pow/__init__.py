"""k2pow over HTTP: the client of a remote k2pow-service, and a k2pow-service of our own.

Names are re-exported lazily, as in :mod:`mergetool.post`.
"""

from __future__ import annotations

from mergetool._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Job": "mergetool.k2pow.job",
    "K2powCancelled": "mergetool._exceptions",
    "K2powEvent": "mergetool.k2pow.service",
    "K2powService": "mergetool.k2pow.service",
    "RemoteK2pow": "mergetool.k2pow.client",
    "RemoteK2powFailed": "mergetool._exceptions",
    "make_job": "mergetool.k2pow.job",
    "parse_job_path": "mergetool.k2pow.job",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
