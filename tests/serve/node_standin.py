"""The node's side of the PoST-service protocol, as ``spec/node-api.md`` describes it.

A real gRPC server on 127.0.0.1 (port 0) implementing ``PostService.Register`` and
``PostInfoService.PostStates``. Per stream it asks for metadata first, files the stream under
the metadata's node id (refusing a second one for that id), and while a test wants a proof
for that identity re-sends the same ``GenProofRequest`` every ``poll_interval_s`` until the
service answers with a proof or an error. Tests drive it from their own thread:
``request_proof`` / ``wait_proof``, ``drop``, ``refuse_coinbase``.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc

from mergetool.nodeapi.proto import post_pb2, post_pb2_grpc

ALREADY_REGISTERED = "post service already registered"
NO_COINBASE = "connection not allowed: node has no coinbase set in config"


@dataclass
class Outcome:
    """How one proof attempt ended: a proof (with its metadata) or an error text."""

    challenge: bytes
    proof: Any = None  # post_pb2.Proof
    metadata: Any = None  # post_pb2.ProofMetadata
    error: str | None = None


@dataclass
class _Identity:
    wanted: bytes | None = None  # the challenge the node asks for now
    needs_proof: bool = False  # PostStates says PROVING (stays so after a failed attempt)
    outcome: Outcome | None = None
    streams: int = 0  # streams opened over the stand-in's life
    still_proving: int = 0  # "still proving" answers received
    gen_requests: list[bytes] = field(default_factory=list)
    metadata: list[Any] = field(default_factory=list)  # every MetadataResponse.meta
    peers: list[str] = field(default_factory=list)  # the client address of each stream


class NodeStandin(post_pb2_grpc.PostServiceServicer, post_pb2_grpc.PostInfoServiceServicer):
    """The node as a PoST service sees it. ``names`` maps key-file names to node ids."""

    def __init__(
        self,
        *,
        poll_interval_s: float = 0.05,
        names: dict[str, bytes] | None = None,
        server_credentials: grpc.ServerCredentials | None = None,
    ) -> None:
        self.poll_interval_s = poll_interval_s
        self.names = dict(names or {})
        self.refuse_coinbase = False
        self._credentials = server_credentials
        self._cond = threading.Condition()
        self._ids: dict[bytes, _Identity] = defaultdict(_Identity)
        self._active: dict[bytes, grpc.ServicerContext] = {}
        self._drop: set[bytes] = set()
        self.refusals: list[str] = []  # details of every stream the stand-in refused
        self.protocol_errors: list[str] = []  # what the real node would choke on
        self._server: grpc.Server | None = None
        self.port = 0

    # --- lifecycle ---------------------------------------------------------------------

    def start(self, port: int = 0) -> NodeStandin:
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=32),
            options=[
                ("grpc.max_receive_message_length", 10 << 20),
                # The node allows client pings at most once a minute.
                ("grpc.http2.min_recv_ping_interval_without_data_ms", 60_000),
                ("grpc.http2.max_ping_strikes", 2),
            ],
        )
        post_pb2_grpc.add_PostServiceServicer_to_server(self, server)
        post_pb2_grpc.add_PostInfoServiceServicer_to_server(self, server)
        where = f"127.0.0.1:{port}"
        if self._credentials is None:
            self.port = server.add_insecure_port(where)
        else:
            self.port = server.add_secure_port(where, self._credentials)
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=0).wait(5)
            self._server = None
        with self._cond:
            self._active.clear()
            self._cond.notify_all()

    @property
    def address(self) -> str:
        scheme = "http" if self._credentials is None else "https"
        return f"{scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> NodeStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what tests do -----------------------------------------------------------------

    def request_proof(self, node_id: bytes, challenge: bytes) -> None:
        """From now on ask ``node_id`` for a proof of ``challenge`` (replacing any other)."""
        with self._cond:
            ident = self._ids[node_id]
            ident.wanted, ident.needs_proof, ident.outcome = challenge, True, None
            self._cond.notify_all()

    def withdraw(self, node_id: bytes) -> None:
        """Stop asking ``node_id`` (the identity still needs a proof, as after a failure)."""
        with self._cond:
            self._ids[node_id].wanted = None
            self._cond.notify_all()

    def wait_proof(self, node_id: bytes, timeout: float = 30.0) -> Outcome:
        """The outcome of the current request for ``node_id`` (a proof or an error)."""
        with self._cond:
            ok = self._cond.wait_for(lambda: self._ids[node_id].outcome is not None, timeout)
            if not ok:
                raise TimeoutError(f"no proof or error from {node_id.hex()} in {timeout} s")
            outcome = self._ids[node_id].outcome
            assert outcome is not None
            return outcome

    def wait_connected(self, node_ids: list[bytes], timeout: float = 20.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: all(i in self._active for i in node_ids), timeout):
                missing = [i.hex() for i in node_ids if i not in self._active]
                raise TimeoutError(f"not connected after {timeout} s: {missing}")

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> None:
        """Wait until ``predicate(stand_in)`` holds (checked on every protocol event)."""
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self), timeout):
                raise TimeoutError(f"condition not met after {timeout} s")

    def connected(self, node_id: bytes) -> bool:
        with self._cond:
            return node_id in self._active

    def drop(self, node_id: bytes | None = None) -> None:
        """End the stream of ``node_id`` (all streams when None), as a node restart would."""
        with self._cond:
            self._drop.update([node_id] if node_id is not None else list(self._active))
            self._cond.notify_all()

    def identity(self, node_id: bytes) -> _Identity:
        with self._cond:
            return self._ids[node_id]

    # --- the protocol --------------------------------------------------------------------

    def PostStates(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        with self._cond:
            states = [
                post_pb2.PostState(
                    id=node_id,
                    name=name,
                    state=post_pb2.PostState.PROVING
                    if self._ids[node_id].needs_proof
                    else post_pb2.PostState.IDLE,
                )
                for name, node_id in sorted(self.names.items())
            ]
        return post_pb2.PostStatesResponse(states=states)

    def Register(self, request_iterator: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        if self.refuse_coinbase:
            self._refuse(context, grpc.StatusCode.FAILED_PRECONDITION, NO_COINBASE)
        yield post_pb2.NodeRequest(metadata=post_pb2.MetadataRequest())
        first = next(request_iterator, None)
        if first is None or first.WhichOneof("kind") != "metadata":
            self.protocol_errors.append(f"expected a metadata response first, got {first}")
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "expected metadata")
        meta = first.metadata.meta
        node_id = bytes(meta.node_id)
        self._check_meta(meta)
        with self._cond:
            if node_id in self._active:
                refused = True
            else:
                refused = False
                self._active[node_id] = context
                ident = self._ids[node_id]
                ident.streams += 1
                ident.metadata.append(meta)
                ident.peers.append(context.peer())
                self._drop.discard(node_id)
                self._cond.notify_all()
        if refused:
            self._refuse(context, grpc.StatusCode.UNKNOWN, ALREADY_REGISTERED)
        try:
            yield from self._serve(node_id, request_iterator, context)
        finally:
            with self._cond:
                if self._active.get(node_id) is context:
                    del self._active[node_id]
                self._cond.notify_all()

    def _refuse(self, context: grpc.ServicerContext, code: grpc.StatusCode, details: str) -> None:
        with self._cond:
            self.refusals.append(details)
            self._cond.notify_all()
        context.abort(code, details)

    def _check_meta(self, meta: Any) -> None:
        if not meta.HasField("nonce"):
            self.protocol_errors.append(f"metadata of {meta.node_id.hex()} has no nonce")
        if len(meta.node_id) != 32 or len(meta.commitment_atx_id) != 32:
            self.protocol_errors.append(f"metadata ids are not 32 bytes: {meta}")

    def _next_challenge(self, node_id: bytes, context: grpc.ServicerContext) -> bytes | None:
        """Block until a proof is wanted (its challenge) or the stream must end (None)."""
        with self._cond:
            while True:
                if node_id in self._drop or not context.is_active() or self._server is None:
                    return None
                ident = self._ids[node_id]
                if ident.wanted is not None:
                    return ident.wanted
                self._cond.wait(0.05)

    def _serve(self, node_id: bytes, responses: Any, context: grpc.ServicerContext) -> Any:
        while True:
            challenge = self._next_challenge(node_id, context)
            if challenge is None:
                with self._cond:
                    self._drop.discard(node_id)
                context.abort(grpc.StatusCode.UNAVAILABLE, "dropped by the node stand-in")
            with self._cond:
                self._ids[node_id].gen_requests.append(challenge)
            yield post_pb2.NodeRequest(gen_proof=post_pb2.GenProofRequest(challenge=challenge))
            answer = next(responses, None)
            if answer is None:
                return
            kind = answer.WhichOneof("kind")
            if kind == "metadata":  # tolerated, as the node answers what it asked for
                self._check_meta(answer.metadata.meta)
                continue
            self._record(node_id, challenge, answer.gen_proof)
            if self.identity(node_id).wanted == challenge:
                time.sleep(self.poll_interval_s)

    def _record(self, node_id: bytes, challenge: bytes, response: Any) -> None:
        with self._cond:
            ident = self._ids[node_id]
            if ident.wanted != challenge:
                return  # a newer request replaced this one meanwhile
            if response.status != post_pb2.GEN_PROOF_STATUS_OK:
                name = post_pb2.GenProofStatus.Name(response.status)
                ident.outcome = Outcome(challenge, error=name)
                ident.wanted = None  # the node retries later "from higher up"
            elif not response.HasField("proof"):
                ident.still_proving += 1
            elif bytes(response.metadata.challenge) != challenge:
                ident.outcome = Outcome(challenge, error="unexpected challenge")
                ident.wanted = None
            elif not response.metadata.HasField("meta"):
                ident.outcome = Outcome(challenge, error="proof metadata without meta")
                ident.wanted = None
            else:
                ident.outcome = Outcome(challenge, proof=response.proof, metadata=response.metadata)
                ident.wanted, ident.needs_proof = None, False
            self._cond.notify_all()
