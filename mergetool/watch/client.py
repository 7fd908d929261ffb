"""A thin client of the node's listeners for ``watch``: each method one call (or one paged
list), bounded by ``timeout_s``, answering frozen values; every gRPC failure is a
:class:`~mergetool.nodeapi.calls.NodeCallFailed` naming the address and the service.

Listeners (``spec/node-watch.md``): ``private`` (``grpc-private-listener``, default
127.0.0.1:9093) serves SmesherIDs and EventsStream; ``public`` (``grpc-public-listener``,
default 127.0.0.1:9092) the v2alpha1 lists, Status and Info; ``post``
(``grpc-post-listener``, no default: the node picks a random port unless set) PostStates.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from mergetool._exceptions import InvalidParameters
from mergetool.nodeapi.address import TlsFiles, parse_node_address
from mergetool.nodeapi.calls import NodeCallFailed, call_unary, status_name
from mergetool.nodeapi.channel import open_channel
from mergetool.nodeapi.post_states import PostStateEntry, post_states
from mergetool.watch.events import NodeEvent, parse_event
from mergetool.watch.records import (
    SYNC_STATES,
    Activation,
    Malfeasance,
    NetworkInfo,
    NodeStatus,
    Reward,
    domain_name,
    from_timestamp,
)

DEFAULT_PRIVATE = "127.0.0.1:9093"
DEFAULT_PUBLIC = "127.0.0.1:9092"
DEFAULT_TIMEOUT_S = 5.0
#: the node refuses a List limit of 0 or over 100
PAGE_LIMIT = 100
#: a node answering full pages for ever is not a node: stop after this many rows
MAX_ROWS = 100_000
_V2 = "spacemesh.v2alpha1."


def listener_target(address: str, parameter: str, tls: TlsFiles | None = None) -> str:
    """``HOST:PORT`` (or ``http(s)://HOST:PORT``) as a gRPC target; InvalidParameters names
    ``parameter`` for a bad one, or for https without the TLS files."""
    target, https = parse_node_address(address, flag=f"`{parameter}`")
    if https and tls is None:
        raise InvalidParameters(
            f"`{parameter}` {address!r} is https: it needs the TLS files (`tls`)",
            parameter=parameter,
        )
    return target


class NodeClient:
    """The node's ``private``, ``public`` and (optional) ``post`` listeners. Channels open on
    first use; ``close()`` (or ``with``) closes them. ``tls`` applies to https addresses."""

    def __init__(
        self,
        *,
        private: str = DEFAULT_PRIVATE,
        public: str = DEFAULT_PUBLIC,
        post: str | None = None,
        tls: TlsFiles | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.addresses = {"private": private, "public": public, "post": post}
        self._targets = {
            name: (listener_target(a, name, tls), a.startswith("https://"))
            for name, a in self.addresses.items()
            if a is not None
        }
        self.tls = tls
        self.timeout_s = timeout_s
        self._channels: dict[str, Any] = {}
        self._lock = threading.Lock()

    # --- plumbing --------------------------------------------------------------------------

    def _channel(self, listener: str) -> tuple[str, Any]:
        if listener not in self._targets:
            raise InvalidParameters(
                f"no `{listener}` address given: the node's grpc-{listener}-listener is needed "
                "for this",
                parameter=listener,
            )
        target, https = self._targets[listener]
        with self._lock:
            if listener not in self._channels:
                self._channels[listener] = open_channel(target, self.tls if https else None)
            return target, self._channels[listener]

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()

    def __enter__(self) -> NodeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _v2(self, service: str) -> tuple[str, Any, Any]:
        from mergetool.nodeapi.proto import v2alpha1_pb2, v2alpha1_pb2_grpc

        address, channel = self._channel("public")
        stub = getattr(v2alpha1_pb2_grpc, f"{service}Stub")(channel)
        return address, stub, v2alpha1_pb2

    def _paged(self, service: str, make: Any, field: str, max_rows: int) -> list[Any]:
        """Every row of a v2alpha1 ``List``, ``PAGE_LIMIT`` at a time."""
        address, stub, _ = self._v2(service)
        rows: list[Any] = []
        while len(rows) < max_rows:
            limit = min(PAGE_LIMIT, max_rows - len(rows))
            page = call_unary(
                address, _V2 + service, stub.List, make(len(rows), limit), timeout_s=self.timeout_s
            )
            got = list(getattr(page, field))
            rows += got
            if len(got) < limit:
                break
        return rows

    # --- the private listener ----------------------------------------------------------------

    def smesher_ids(self) -> tuple[bytes, ...]:
        """``SmesherService.SmesherIDs``: the identities the node loaded at start-up."""
        from google.protobuf import empty_pb2

        from mergetool.nodeapi.proto import events_pb2_grpc

        address, channel = self._channel("private")
        stub = events_pb2_grpc.SmesherServiceStub(channel)
        answer = call_unary(
            address,
            "spacemesh.v1.SmesherService",
            stub.SmesherIDs,
            empty_pb2.Empty(),
            timeout_s=self.timeout_s,
        )
        return tuple(bytes(k) for k in answer.public_keys)

    def events(
        self, *, idle_s: float | None = None, total_s: float | None = None
    ) -> Iterator[NodeEvent]:
        """``AdminService.EventsStream``: the node's replay of its last 100 events, then new
        ones, as they come. Ends quietly when no event came for ``idle_s`` or after
        ``total_s``; NodeCallFailed when the node ends it (``code`` CANCELLED with "buffer is
        full" when this reader fell 1000 events behind) or does not answer."""
        from mergetool.nodeapi.proto import events_pb2, events_pb2_grpc

        address, channel = self._channel("private")
        stub = events_pb2_grpc.AdminServiceStub(channel)
        stream = stub.EventsStream(events_pb2.EventStreamRequest(), timeout=total_s)
        ours = threading.Event()  # we cancelled it: an idle end, not an error

        def cut() -> None:
            ours.set()
            stream.cancel()

        timer: threading.Timer | None = None
        try:
            while True:
                if idle_s is not None:
                    timer = threading.Timer(idle_s, cut)
                    timer.daemon = True
                    timer.start()
                try:
                    message = next(stream)
                except StopIteration:
                    return
                finally:
                    if timer is not None:
                        timer.cancel()
                yield parse_event(message)
        except Exception as exc:
            import grpc

            if not isinstance(exc, grpc.RpcError):
                raise
            code, details = status_name(exc)
            if ours.is_set() or (code == "DEADLINE_EXCEEDED" and total_s is not None):
                return
            raise NodeCallFailed(
                address, "spacemesh.v1.AdminService", code, details, timeout_s=self.timeout_s
            ) from exc
        finally:
            stream.cancel()

    # --- the post listener --------------------------------------------------------------------

    def post_states(self) -> tuple[PostStateEntry, ...]:
        """``PostInfoService.PostStates``: one entry per key file (needs ``post``)."""
        address, channel = self._channel("post")
        return post_states(address, channel, timeout_s=self.timeout_s)

    # --- the public listener -------------------------------------------------------------------

    def node_status(self) -> NodeStatus:
        """``v2alpha1.NodeService.Status``."""
        address, stub, pb = self._v2("NodeService")
        s = call_unary(
            address, _V2 + "NodeService", stub.Status, pb.NodeStatusRequest(),
            timeout_s=self.timeout_s,
        )  # fmt: skip
        sync = SYNC_STATES[s.status] if 0 <= s.status < len(SYNC_STATES) else "unknown"
        return NodeStatus(
            sync, int(s.connected_peers), int(s.current_layer), int(s.latest_layer),
            int(s.applied_layer), int(s.processed_layer),
        )  # fmt: skip

    def network_info(self) -> NetworkInfo:
        """``v2alpha1.NetworkService.Info``: genesis, layer duration, layers per epoch…"""
        address, stub, pb = self._v2("NetworkService")
        i = call_unary(
            address, _V2 + "NetworkService", stub.Info, pb.NetworkInfoRequest(),
            timeout_s=self.timeout_s,
        )  # fmt: skip
        genesis = from_timestamp(i.genesis_time)
        duration = i.layer_duration.seconds + i.layer_duration.nanos / 1e9
        if genesis is None or duration <= 0 or i.layers_per_epoch == 0:
            raise NodeCallFailed(
                address, _V2 + "NetworkService", "INVALID", "an Info without genesis time, "
                "layer duration or layers per epoch", timeout_s=self.timeout_s,
            )  # fmt: skip
        return NetworkInfo(
            genesis, duration, int(i.layers_per_epoch), int(i.effective_genesis_layer),
            int(i.labels_per_unit), i.hrp, bytes(i.genesis_id),
        )  # fmt: skip

    def list_activations(
        self, smesher_ids: Sequence[bytes], *, start_epoch: int = 0, end_epoch: int = 0,
        max_rows: int = MAX_ROWS,
    ) -> tuple[Activation, ...]:  # fmt: skip
        """``ActivationService.List`` for ``smesher_ids`` (epochs 0: no bound), every page."""
        _, _, pb = self._v2("ActivationService")
        rows = self._paged(
            "ActivationService",
            lambda offset, limit: pb.ActivationRequest(
                start_epoch=start_epoch,
                end_epoch=end_epoch,
                smesher_id=list(smesher_ids),
                offset=offset,
                limit=limit,
            ),  # fmt: skip
            "activations",
            max_rows,
        )
        return tuple(
            Activation(
                bytes(a.id),
                bytes(a.smesher_id),
                int(a.publish_epoch),
                a.coinbase,
                int(a.weight),
                int(a.height),
                int(a.num_units),
            )  # fmt: skip
            for a in rows
        )

    def list_rewards(
        self, smesher: bytes, *, start_layer: int = 0, end_layer: int = 0,
        newest_first: bool = True, max_rows: int = MAX_ROWS,
    ) -> tuple[Reward, ...]:  # fmt: skip
        """``RewardService.List`` of one identity (the only filter that tells the identities
        of a 1:N node apart: they share a coinbase); layers 0: no bound."""
        _, _, pb = self._v2("RewardService")
        order = pb.SortOrder.DESC if newest_first else pb.SortOrder.ASC
        rows = self._paged(
            "RewardService",
            lambda offset, limit: pb.RewardRequest(
                start_layer=start_layer,
                end_layer=end_layer,
                smesher=smesher,
                offset=offset,
                limit=limit,
                sort_order=order,
            ),  # fmt: skip
            "rewards",
            max_rows,
        )
        return tuple(
            Reward(int(r.layer), int(r.total), int(r.layer_reward), r.coinbase, bytes(r.smesher))
            for r in rows
        )

    def list_malfeasance(
        self, smesher_ids: Sequence[bytes], *, max_rows: int = MAX_ROWS
    ) -> tuple[Malfeasance, ...]:
        """``MalfeasanceService.List`` for ``smesher_ids``: any proof is a ban for good."""
        _, _, pb = self._v2("MalfeasanceService")
        rows = self._paged(
            "MalfeasanceService",
            lambda offset, limit: pb.MalfeasanceRequest(
                smesher_id=list(smesher_ids), offset=offset, limit=limit
            ),
            "proofs",
            max_rows,
        )
        return tuple(
            Malfeasance(
                bytes(p.smesher),
                domain_name(int(p.domain)),
                int(p.type),
                tuple(sorted(p.properties.items())),
            )  # fmt: skip
            for p in rows
        )
