"""One identity while ``serve`` runs: what ``Service`` keeps beside its state machine."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

from mergetool.serve.config import IdentityConfig
from mergetool.serve.state import IdentityState
from mergetool.serve.store import ProofStore


@dataclass(eq=False)
class Identity:
    """One identity while the service runs: config, state machine, proof file, current run."""

    config: IdentityConfig
    state: IdentityState
    store: ProofStore
    connected: bool = False
    job: asyncio.Task[None] | None = None
    stop: threading.Event | None = None  # the stop signal of the current run
    last_problem: str | None = None  # the last connection problem reported
    delivered: tuple[bytes, float] | None = None  # (challenge, when) of the last hand-over
