"""The node as a monitor sees it, written from ``spec/node-watch.md``: real gRPC servers on
127.0.0.1 (port 0), one per listener, each serving the services a test chooses (any other
answers ``UNIMPLEMENTED``, as a node whose ``grpc-*-services`` lists leave it out).

- private: ``SmesherService.SmesherIDs`` and ``AdminService.EventsStream`` (on subscribe the
  ring of the last 100 events of all identities, then new ones; a subscriber ``buffer`` events
  behind is cut with ``CANCELED`` "buffer is full");
- public: the v2alpha1 ``List``s (``limit`` 0 or over 100: ``INVALID_ARGUMENT``; ``offset``
  pages), ``NodeService.Status`` and ``NetworkService.Info``;
- post: ``PostInfoService.PostStates``.

The clock is the stand-in's network: ``genesis``, ``layer_duration_s``, ``layers_per_epoch``
(a test makes them short); the current layer follows real time unless ``current_layer`` is set.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent import futures
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc

from mergetool.nodeapi.proto import (
    events_pb2,
    events_pb2_grpc,
    post_pb2,
    post_pb2_grpc,
    v2alpha1_pb2,
    v2alpha1_pb2_grpc,
)

RING = 100
BUFFER_FULL = "buffer is full"
V1, V2 = "spacemesh.v1.", "spacemesh.v2alpha1."
PRIVATE = frozenset({V1 + "AdminService", V1 + "SmesherService"})
PUBLIC = frozenset(
    V2 + s
    for s in ("ActivationService", "RewardService", "MalfeasanceService", "NodeService",
              "NetworkService")
)  # fmt: skip
POST = frozenset({V1 + "PostInfoService"})
SYNC = {"unknown": 0, "offline": 1, "syncing": 2, "synced": 3}


@dataclass
class _Subscriber:
    pending: deque[Any] = field(default_factory=deque)
    cut: bool = False


def _check_limit(request: Any, context: grpc.ServicerContext) -> None:
    if request.limit == 0 or request.limit > 100:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "limit must be set to <= 100")


def _page(rows: list[Any], request: Any) -> list[Any]:
    return rows[request.offset : request.offset + request.limit]


class WatchNode:
    """The node's three listeners and what they know; tests set the public attributes."""

    def __init__(
        self,
        *,
        genesis: datetime | None = None,
        layer_duration_s: float = 60.0,
        layers_per_epoch: int = 100,
        buffer: int = 1000,
    ) -> None:
        self.genesis = genesis or datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        self.layer_duration_s = layer_duration_s
        self.layers_per_epoch = layers_per_epoch
        self.current_layer: int | None = None  # None: follow real time
        self.buffer = buffer
        self.sync = "synced"
        self.peers = 20
        self.smesher_ids: list[bytes] = []
        #: key file name -> node id (PostStates), and the ids the node needs a proof from
        self.key_names: dict[str, bytes] = {}
        self.proving: set[bytes] = set()
        self.activations: list[Any] = []  # v2alpha1_pb2.Activation
        self.rewards: list[Any] = []  # v2alpha1_pb2.Reward
        self.malfeasance: list[Any] = []  # v2alpha1_pb2.MalfeasanceProof
        self.calls: list[tuple[str, Any]] = []  # (method, request) of every call answered
        self.list_delay_s = 0.0  # each List answers this late (a jammed database)
        self._lock = threading.Condition()
        self._ring: deque[Any] = deque(maxlen=RING)
        self._subscribers: list[_Subscriber] = []
        self._servers: dict[str, grpc.Server] = {}
        self.ports: dict[str, int] = {}

    # --- lifecycle -------------------------------------------------------------------------

    def start(
        self,
        private: frozenset[str] = PRIVATE,
        public: frozenset[str] = PUBLIC,
        post: frozenset[str] = POST,
    ) -> WatchNode:
        """Listen on three ports; each serves the services named for it."""
        for listener, services in (("private", private), ("public", public), ("post", post)):
            server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
            for name in services:
                self._add(server, name)
            self.ports[listener] = server.add_insecure_port("127.0.0.1:0")
            server.start()
            self._servers[listener] = server
        return self

    def _add(self, server: grpc.Server, name: str) -> None:
        short = name.rpartition(".")[2]
        module = events_pb2_grpc if name.startswith(V1) else v2alpha1_pb2_grpc
        if name == V1 + "PostInfoService":
            module = post_pb2_grpc
        servicer = _SERVICERS[name](self)
        getattr(module, f"add_{short}Servicer_to_server")(servicer, server)

    def stop(self) -> None:
        with self._lock:
            for sub in self._subscribers:
                sub.cut = True
            self._lock.notify_all()
        for server in self._servers.values():
            server.stop(grace=0).wait(5)
        self._servers.clear()

    def __enter__(self) -> WatchNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def address(self, listener: str) -> str:
        return f"127.0.0.1:{self.ports[listener]}"

    # --- the clock ---------------------------------------------------------------------------

    def layer_now(self) -> int:
        if self.current_layer is not None:
            return self.current_layer
        elapsed = (datetime.now(UTC) - self.genesis).total_seconds()
        return max(0, int(elapsed // self.layer_duration_s))

    def epoch_start(self, epoch: int) -> datetime:
        seconds = epoch * self.layers_per_epoch * self.layer_duration_s
        return self.genesis + timedelta(seconds=seconds)

    # --- what tests do -----------------------------------------------------------------------

    def event(
        self, kind: str, *, at: datetime | None = None, failure: bool = False, help: str = "",
        **detail: Any,
    ) -> Any:  # fmt: skip
        """An ``Event`` with ``details`` field ``kind`` built from ``detail`` (not published)."""
        message = events_pb2.Event(failure=failure, help=help)
        message.timestamp.FromDatetime(at or datetime.now(UTC))
        cls = getattr(
            events_pb2, events_pb2.Event.DESCRIPTOR.fields_by_name[kind].message_type.name
        )
        sub = cls()
        for name, value in detail.items():
            target = getattr(sub, name)
            if isinstance(value, datetime):
                target.FromDatetime(value)
            elif hasattr(target, "CopyFrom") and not isinstance(value, bytes | str | int):
                target.CopyFrom(value)
            elif isinstance(target, int | bytes | str | bool | float):
                setattr(sub, name, value)
            else:  # repeated
                target.extend(value)
        getattr(message, kind).CopyFrom(sub)
        return message

    def publish(self, *events: Any) -> None:
        """Events the node emits now: into the ring and to every subscriber."""
        with self._lock:
            for ev in events:
                self._ring.append(ev)
                for sub in self._subscribers:
                    sub.pending.append(ev)
                    if len(sub.pending) > self.buffer:
                        sub.cut = True
            self._lock.notify_all()

    def restart(self) -> None:
        """What a node restart does to the stream: subscribers cut, the ring emptied."""
        with self._lock:
            self._ring.clear()
            for sub in self._subscribers:
                sub.cut = True
            self._lock.notify_all()

    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def wait_subscribed(self, count: int = 1, timeout: float = 10.0) -> None:
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._subscribers) >= count, timeout):
                raise TimeoutError(f"fewer than {count} subscribers after {timeout} s")

    # --- the services ------------------------------------------------------------------------

    def _record(self, method: str, request: Any) -> None:
        with self._lock:
            self.calls.append((method, request))

    def _stream(self, context: grpc.ServicerContext) -> Any:
        sub = _Subscriber()
        with self._lock:
            sub.pending.extend(self._ring)
            self._subscribers.append(sub)
            self._lock.notify_all()
        try:
            while context.is_active():
                with self._lock:
                    self._lock.wait_for(lambda: sub.pending or sub.cut, 0.1)
                    if sub.cut:
                        break
                    batch = list(sub.pending)
                    sub.pending.clear()
                for ev in batch:
                    yield ev
                    with self._lock:
                        if sub.cut:
                            break
        finally:
            with self._lock:
                self._subscribers.remove(sub)
        if sub.cut:
            context.abort(grpc.StatusCode.CANCELLED, BUFFER_FULL)


class _Private(events_pb2_grpc.AdminServiceServicer, events_pb2_grpc.SmesherServiceServicer):
    def __init__(self, node: WatchNode) -> None:
        self.node = node

    def EventsStream(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self.node._record("EventsStream", request)
        yield from self.node._stream(context)

    def SmesherIDs(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self.node._record("SmesherIDs", request)
        return events_pb2.SmesherIDsResponse(public_keys=list(self.node.smesher_ids))


class _Post(post_pb2_grpc.PostInfoServiceServicer):
    def __init__(self, node: WatchNode) -> None:
        self.node = node

    def PostStates(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        node = self.node
        node._record("PostStates", request)
        state = post_pb2.PostState
        return post_pb2.PostStatesResponse(
            states=[
                state(id=i, name=n, state=state.PROVING if i in node.proving else state.IDLE)
                for n, i in sorted(node.key_names.items())
            ]
        )


class _Public(
    v2alpha1_pb2_grpc.ActivationServiceServicer,
    v2alpha1_pb2_grpc.RewardServiceServicer,
    v2alpha1_pb2_grpc.MalfeasanceServiceServicer,
    v2alpha1_pb2_grpc.NodeServiceServicer,
    v2alpha1_pb2_grpc.NetworkServiceServicer,
):
    def __init__(self, node: WatchNode) -> None:
        self.node = node

    def List(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        node = self.node
        node._record(type(request).__name__, request)
        _check_limit(request, context)
        time.sleep(node.list_delay_s)
        if isinstance(request, v2alpha1_pb2.ActivationRequest):
            rows = [
                a for a in sorted(node.activations, key=lambda a: (a.publish_epoch, a.id))
                if a.publish_epoch >= request.start_epoch
                and (not request.end_epoch or a.publish_epoch <= request.end_epoch)
                and (not request.smesher_id or a.smesher_id in request.smesher_id)
                and (not request.id or a.id in request.id)
                and (not request.coinbase or a.coinbase == request.coinbase)
            ]  # fmt: skip
            return v2alpha1_pb2.ActivationList(activations=_page(rows, request))
        if isinstance(request, v2alpha1_pb2.RewardRequest):
            which = request.WhichOneof("filter_by")
            rows = sorted(
                (r for r in node.rewards
                 if r.layer >= request.start_layer
                 and (not request.end_layer or r.layer <= request.end_layer)
                 and (which != "smesher" or r.smesher == request.smesher)
                 and (which != "coinbase" or r.coinbase == request.coinbase)),
                key=lambda r: r.layer,
                reverse=request.sort_order == v2alpha1_pb2.DESC,
            )  # fmt: skip
            return v2alpha1_pb2.RewardList(rewards=_page(rows, request))
        rows = [
            p for p in node.malfeasance
            if not request.smesher_id or p.smesher in request.smesher_id
        ]  # fmt: skip
        return v2alpha1_pb2.MalfeasanceList(proofs=_page(rows, request))

    def Status(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        node = self.node
        node._record("Status", request)
        layer = node.layer_now()
        return v2alpha1_pb2.NodeStatusResponse(
            connected_peers=node.peers, status=SYNC[node.sync], latest_layer=layer,
            applied_layer=max(0, layer - 1), processed_layer=max(0, layer - 1),
            current_layer=layer,
        )  # fmt: skip

    def Info(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        node = self.node
        node._record("Info", request)
        info = v2alpha1_pb2.NetworkInfoResponse(
            hrp="sm", layers_per_epoch=node.layers_per_epoch, labels_per_unit=1024,
            genesis_id=bytes(20), effective_genesis_layer=node.layers_per_epoch * 2 - 1,
        )  # fmt: skip
        info.genesis_time.FromDatetime(node.genesis)
        info.layer_duration.FromTimedelta(timedelta(seconds=node.layer_duration_s))
        return info


_SERVICERS: dict[str, Any] = {
    **{name: _Private for name in PRIVATE},
    **{name: _Public for name in PUBLIC},
    **{name: _Post for name in POST},
}


def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    """Poll ``predicate()`` (every 10 ms) until it holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met after {timeout} s")
        time.sleep(0.01)
