"""k2pow over HTTP: the client of a remote k2pow-service, and a k2pow-service of our own."""

from __future__ import annotations

from mergetool.k2pow.client import RemoteK2pow
from mergetool.k2pow.job import Job, make_job, parse_job_path
from mergetool.k2pow.service import K2powEvent, K2powService

__all__ = ["Job", "K2powEvent", "K2powService", "RemoteK2pow", "make_job", "parse_job_path"]
