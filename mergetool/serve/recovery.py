"""A start after a stop or a crash: the proofs an earlier run kept are checked and offered.

A proof file that no longer verifies (other data, another identity) or is not a proof file
is discarded with the reason. One that cannot be checked now (the stop came, the verifier
failed) is left in place for the next start: only a verdict on the proof removes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from mergetool._exceptions import Cancelled, MergetoolError, ProvingFailed
from mergetool.serve.identity import Identity
from mergetool.serve.prover import Prover

Emit = Callable[..., None]  # Service._emit(kind, message, *, ident, level, **fields)


async def offer_stored_proofs(
    identities: list[Identity], prover: Prover, *, stopping: Callable[[], bool], emit: Emit
) -> None:
    """Check each identity's kept proof with all k2 indices and offer it for its challenge."""
    for ident in identities:
        found = await asyncio.to_thread(ident.store.load)
        if found is None:
            continue
        if isinstance(found, str):
            _discard(ident, found, emit)
            continue
        finished, delivered = found
        try:
            await prover.check(ident.config, finished.proof, finished.challenge, stopping)
        except Cancelled:
            return  # stopping: the proofs stay for the next start
        except ProvingFailed as exc:
            _discard(ident, f"it no longer verifies ({exc.message})", emit)
            continue
        except Exception as exc:  # noqa: BLE001 - no verdict: never the end of serve
            why = exc.message if isinstance(exc, MergetoolError) else f"{type(exc).__name__}: {exc}"
            emit(
                "stored-proof-unchecked",
                f"cannot check {ident.store.path} now ({why}): left for the next start",
                ident=ident, level="warning",
            )  # fmt: skip
            continue
        ident.state.on_stored_proof(finished, delivered=delivered)
        emit(
            "stored-proof",
            f"offering the stored proof for challenge {finished.challenge.hex()}"
            + (" (already delivered once)" if delivered else ""),
            ident=ident, challenge=finished.challenge.hex(),
        )  # fmt: skip


def _discard(ident: Identity, why: str, emit: Emit) -> None:
    emit(
        "stored-proof-discarded", f"discarding {ident.store.path}: {why}",
        ident=ident, level="warning",
    )  # fmt: skip
    ident.store.discard()


__all__ = ["offer_stored_proofs"]
