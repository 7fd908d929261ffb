"""The gRPC side: one channel to the node, one ``Register`` stream per identity (grpc.aio).

This layer only translates: node requests become calls on a ``StreamHandler`` (the
service), its decisions become ``ServiceResponse`` messages; the service's task group runs
``keep`` for every identity. Streams reconnect every
``reconnect_interval_s``; ``max_retries`` failed attempts in a row end the service.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

import grpc

from mergetool._exceptions import ServeError
from mergetool.nodeapi.channel import open_aio_channel
from mergetool.nodeapi.proto import post_pb2, post_pb2_grpc
from mergetool.serve.config import IdentityConfig, ServeConfig
from mergetool.serve.state import Decision

#: A stream left open this long after the metadata exchange is taken as accepted.
CONFIRM_S = 0.5
#: The longest wait between two attempts after refused streams.
MAX_REFUSAL_BACKOFF_S = 60.0


class StreamHandler(Protocol):
    def on_request(self, ident: IdentityConfig, challenge: bytes) -> Decision: ...
    def on_delivered(self, ident: IdentityConfig, challenge: bytes) -> None: ...
    def on_connection(
        self,
        ident: IdentityConfig,
        *,
        connected: bool,
        problem: str | None = None,
        refused: bool = False,
    ) -> None: ...


def open_channel(config: ServeConfig) -> grpc.aio.Channel:
    """The one channel all streams share (mutual TLS for an https:// address)."""
    return open_aio_channel(
        config.target, config.tls, max_reconnect_backoff_s=config.reconnect_interval_s
    )


def metadata_of(ident: IdentityConfig) -> Any:
    """The identity's ``Metadata`` message; ``nonce`` is always set (the node relies on it)."""
    return post_pb2.Metadata(
        node_id=ident.node_id,
        commitment_atx_id=ident.commitment_atx_id,
        nonce=ident.vrf_nonce,
        num_units=ident.num_units,
        labels_per_unit=ident.labels_per_unit,
    )


def gen_proof_response(ident: IdentityConfig, challenge: bytes, decision: Decision) -> Any:
    """ "Still proving" (OK, nothing else), the proof with its metadata, or ERROR."""
    if decision.reply == "error":
        return post_pb2.GenProofResponse(status=post_pb2.GEN_PROOF_STATUS_ERROR)
    if decision.reply == "proving":
        return post_pb2.GenProofResponse(status=post_pb2.GEN_PROOF_STATUS_OK)
    proof = decision.proof
    return post_pb2.GenProofResponse(
        status=post_pb2.GEN_PROOF_STATUS_OK,
        proof=post_pb2.Proof(nonce=proof.nonce, indices=proof.indices, pow=proof.pow),
        metadata=post_pb2.ProofMetadata(challenge=challenge, meta=metadata_of(ident)),
    )


def describe(
    exc: grpc.aio.AioRpcError, config: ServeConfig, ident: IdentityConfig, *, opened: bool = False
) -> tuple[str, bool]:
    """What an operator needs to know about a failed/ended stream, and whether it is a refusal.

    ``opened``: the node had talked on this stream, so it was reached and then lost.
    """
    code, details = exc.code(), exc.details() or ""
    where = config.address
    if opened and code == grpc.StatusCode.UNAVAILABLE:
        return f"lost the connection to the node at {where}: {details}; reconnecting", False
    if code == grpc.StatusCode.UNKNOWN and "already registered" in details:
        return (
            f"the node at {where} refused identity {ident.node_id.hex()} ({ident.folder}): "
            "another PoST service for this identity is already connected; two provers for "
            "one identity risk equivocation, so stop the other one",
            True,
        )
    if code == grpc.StatusCode.FAILED_PRECONDITION and "coinbase" in details:
        return (
            f"the node at {where} refuses PoST services: it has no coinbase; set "
            "smeshing-coinbase in the node's config (and restart the node)",
            True,
        )
    if code == grpc.StatusCode.UNAVAILABLE:
        if config.tls is not None:
            return (
                f"cannot reach the node at {where} over TLS: {details} (check --ca-cert, "
                "--cert, --key and --domain: the node drops connections whose client "
                "certificate it does not trust)",
                False,
            )
        return f"cannot reach the node at {where}: {details}", False
    return f"the node at {where} ended the stream: {code.name}: {details}", False


class Connection:
    """Keeps one Register stream per identity open until ``stop`` is set."""

    def __init__(self, config: ServeConfig, handler: StreamHandler, stop: asyncio.Event) -> None:
        self.config, self.handler, self.stop = config, handler, stop
        self.channel = open_channel(config)
        self.stub = post_pb2_grpc.PostServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close(grace=None)

    async def keep(self, ident: IdentityConfig) -> None:
        """Keep ``ident``'s stream open; returns once ``stop`` is set, raises ServeError past
        max retries (the caller's task group then ends the other streams)."""
        failures = 0  # attempts in a row that did not reach the node (post-rs's --max-retries)
        refusals = 0  # refused streams in a row: each waits twice as long, up to a minute
        while not self.stop.is_set():
            problem, refused, opened = await self._stream(ident)
            if self.stop.is_set():
                return
            if refused:
                refusals += 1  # the node was reached: a refusal does not use up retries
            elif opened:
                failures = refusals = 0
            else:
                failures += 1
            retries = self.config.max_retries
            self.handler.on_connection(ident, connected=False, problem=problem, refused=refused)
            if retries is not None and failures > retries:
                raise ServeError(
                    f"giving up after {failures} failed attempt{'s' if failures > 1 else ''} "
                    f"to connect identity "
                    f"{ident.node_id.hex()} ({ident.folder}): {problem}",
                    hint="Raise --max-retries (or leave it out to retry forever).",
                )
            wait = self.config.reconnect_interval_s
            if refusals:
                wait = max(wait, min(MAX_REFUSAL_BACKOFF_S, wait * 2 ** (refusals - 1)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), wait)

    async def _stream(self, ident: IdentityConfig) -> tuple[str, bool, bool]:
        """One stream until it ends: (what ended it, a refusal?, did the node talk to us?).

        The stream counts as connected once the node asks a second time or leaves it open
        for CONFIRM_S after the metadata: the node refuses a second service for an identity
        ("already registered") only after reading its metadata.
        """
        call = self.stub.Register()
        opened = confirmed = False
        stopping = asyncio.ensure_future(self.stop.wait())
        try:
            while True:
                read = asyncio.ensure_future(call.read())
                while True:
                    timeout = CONFIRM_S if opened and not confirmed else None
                    done, _ = await asyncio.wait(
                        [read, stopping], timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                    )
                    if done:
                        break
                    confirmed = True  # open for CONFIRM_S after the metadata: not refused
                    self.handler.on_connection(ident, connected=True)
                if not read.done():
                    read.cancel()
                    call.cancel()
                    return "stopped", False, opened
                request = read.result()
                if request is grpc.aio.EOF:
                    return f"the node at {self.config.address} closed the stream", False, opened
                if opened and not confirmed:
                    confirmed = True
                    self.handler.on_connection(ident, connected=True)
                opened = True
                response, delivered = self._answer(ident, request)
                await call.write(response)
                if delivered is not None:
                    self.handler.on_delivered(ident, delivered)
        except grpc.aio.AioRpcError as exc:
            problem, refused = describe(exc, self.config, ident, opened=opened)
            return problem, refused, opened
        finally:
            stopping.cancel()

    def _answer(self, ident: IdentityConfig, request: Any) -> tuple[Any, bytes | None]:
        """The response, and the challenge whose proof it hands out (if it does)."""
        kind = request.WhichOneof("kind")
        if kind == "metadata":
            meta = post_pb2.MetadataResponse(meta=metadata_of(ident))
            return post_pb2.ServiceResponse(metadata=meta), None
        challenge = bytes(request.gen_proof.challenge)
        if kind != "gen_proof" or len(challenge) != 32:
            decision = Decision("error")
        else:
            decision = self.handler.on_request(ident, challenge)
        response = post_pb2.ServiceResponse(
            gen_proof=gen_proof_response(ident, challenge, decision)
        )
        return response, challenge if decision.reply == "proof" else None
