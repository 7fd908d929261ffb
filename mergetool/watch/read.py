"""``read_watch``: ask the node's listeners and the PoST services' operator APIs (in parallel,
each bounded in time), match identities by node id, and judge each one (``verdict.judge``).

Identities come from SmesherIDs, PostStates, ``identities/*.key`` of ``node_dir`` and the
operator APIs; a key in ``node_dir`` that SmesherIDs lacks is "not loaded". Anything that did
not answer is listed in ``errors`` (naming its address) and the rows say what is unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mergetool._exceptions import InvalidKeyFile, Unreachable
from mergetool.nodeapi.address import TlsFiles
from mergetool.nodeapi.calls import NodeCallFailed
from mergetool.serviceapi.read import (
    OperatorSpec,
    parse_operator,
    read_post_rs_status,
    read_serve_identities,
)
from mergetool.serviceapi.state import ServiceState
from mergetool.watch.client import DEFAULT_PRIVATE, DEFAULT_PUBLIC, DEFAULT_TIMEOUT_S, NodeClient
from mergetool.watch.clock import NetworkClock, PoetTiming
from mergetool.watch.config import read_node_config
from mergetool.watch.events import NodeEvent
from mergetool.watch.model import AtxInfo, IdentityRow, PostView, Rewards, WatchReport
from mergetool.watch.timeline import Timeline, timelines
from mergetool.watch.verdict import Facts, judge

#: how long the one-shot read waits for one more event of the node's replay, and in all
EVENTS_IDLE_S = 0.5
EVENTS_TOTAL_S = 3.0


class _Errors:
    """Errors in the order met, one per cause: an address that does not answer is told once."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    def add(self, exc: Unreachable) -> None:
        text = exc.message + (f" ({exc.hint})" if exc.hint else "")
        quiet = isinstance(exc, NodeCallFailed) and exc.code in ("UNAVAILABLE", "DEADLINE_EXCEEDED")
        self.found.setdefault(exc.address if quiet else text, text)

    def get(self, future: Future[Any]) -> Any:
        """The future's result, or None (and the error noted) when it did not answer."""
        try:
            return future.result()
        except Unreachable as exc:
            self.add(exc)
            return None


def _node_dir_keys(node_dir: Path | None, errors: list[str]) -> dict[bytes, str]:
    """node id -> NAME of each ``identities/NAME.key`` (a bad key file: an error, skipped)."""
    if node_dir is None:
        return {}
    from mergetool.node.folder import open_folder
    from mergetool.node.keys import load_key

    found: dict[bytes, str] = {}
    for entry in open_folder(Path(node_dir), must_exist=False).identity_files():
        try:
            found[load_key(entry.path).node_id] = entry.path.name.removesuffix(".key")
        except InvalidKeyFile as exc:
            errors.append(exc.message)
    return found


def _ask(
    spec: OperatorSpec, timeout_s: float, token: str | None
) -> list[tuple[bytes | None, ServiceState]]:
    if spec.name is None:
        return list(read_serve_identities(spec.url, timeout_s, token))
    return [(None, read_post_rs_status(spec.url, timeout_s, token))]


def _resolve(name: str, names: dict[bytes, str]) -> bytes | None:
    """The node id an ``--operator NAME=URL`` names: a key name (with or without .key) or hex."""
    for node_id, known in names.items():
        if name.removesuffix(".key") == known:
            return node_id
    try:
        raw = bytes.fromhex(name)
    except ValueError:
        return None
    return raw if len(raw) == 32 else None


def read_watch(
    *,
    private: str | None = None,
    public: str | None = None,
    post: str | None = None,
    operators: Sequence[str | OperatorSpec] = (),
    operator_token: str | None = None,
    config: Path | None = None,
    node_dir: Path | None = None,
    tls: TlsFiles | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    events_idle_s: float = EVENTS_IDLE_S,
    events: Sequence[NodeEvent] | None = None,
    now: Callable[[], datetime] | None = None,
) -> WatchReport:
    """One row per identity, each with its verdict. Listeners default to the node config's
    (``config``), else 127.0.0.1:9093 (``private``) and :9092 (``public``); ``post`` has no
    default; ``operator_token`` is sent to every operator API. Bad arguments raise
    InvalidParameters / InvalidInputFile; a listener or service that does not answer within
    ``timeout_s`` is listed in ``errors``.

    ``events``: the node's events as a follower kept them (oldest first, deduped); None reads
    the node's replay of its last 100 (waiting ``events_idle_s`` for one more). ``now``: the
    clock (UTC), for tests and replays."""
    clock_now = now or (lambda: datetime.now(UTC))
    cfg = read_node_config(config) if config is not None else None
    private = private or (cfg.private if cfg else None) or DEFAULT_PRIVATE
    public = public or (cfg.public if cfg else None) or DEFAULT_PUBLIC
    post = post or (cfg.post if cfg else None)
    poet = cfg.poet if cfg else PoetTiming()
    specs = list(dict.fromkeys(s if isinstance(s, OperatorSpec) else parse_operator(s)
                               for s in operators))  # fmt: skip
    bad_keys: list[str] = []
    keys = _node_dir_keys(node_dir, bad_keys)
    errors = _Errors()
    client = NodeClient(private=private, public=public, post=post, tls=tls, timeout_s=timeout_s)
    with client, ThreadPoolExecutor(max_workers=8) as pool:
        ids_call = pool.submit(client.smesher_ids)
        states_call = pool.submit(client.post_states) if post else None
        status_call = pool.submit(client.node_status)
        info_call = pool.submit(client.network_info)
        events_call = None
        if events is None:
            events_call = pool.submit(
                lambda: tuple(
                    client.events(idle_s=events_idle_s, total_s=min(timeout_s, EVENTS_TOTAL_S))
                )
            )
        service_calls = [pool.submit(_ask, spec, timeout_s, operator_token) for spec in specs]
        loaded = errors.get(ids_call)
        states = errors.get(states_call) if states_call else None
        status = errors.get(status_call)
        info = errors.get(info_call)
        seen = tuple(events) if events_call is None else errors.get(events_call) or ()
        names = {s.node_id: s.name.removesuffix(".key") for s in states or ()} | keys
        services = _services(specs, service_calls, names, errors, bad_keys)
        moment = clock_now()
        network = None
        if info is not None:
            network = NetworkClock(
                info.genesis_time, info.layer_duration_s, info.layers_per_epoch, poet
            )
        clock = network.window(moment) if network else None
        order = list(dict.fromkeys([*(loaded or ()), *(s.node_id for s in states or ()),
                                    *keys, *services]))  # fmt: skip
        lists = _lists(pool, client, order, clock.epoch if clock else None, info, errors)
    node_states = {s.node_id: s.state for s in states or ()}
    lines = timelines(seen, network)
    rows = []
    for node_id in order:
        line = lines.get(node_id, Timeline())
        atx_epochs, banned, rewards = lists.get(node_id, (None, (), None))
        banned = tuple(dict.fromkeys([*banned, *line.banned]))
        service = services.get(node_id)
        facts = Facts(
            epoch=clock.epoch if clock else None,
            loaded=None if loaded is None else node_id in loaded,
            atx_epochs=atx_epochs,
            banned=banned,
            post_failure=line.post_failure,
            node_state=node_states.get(node_id),
            service=service,
            operators_given=bool(specs),
            poet_round_end=line.poet_round_end,
            now=moment,
        )
        problem = None if service or not specs else "no operator API answered for it"
        rows.append(
            IdentityRow(
                node_id=node_id,
                name=names.get(node_id) or (service.name if service else None),
                loaded=facts.loaded,
                atx=AtxInfo(max(atx_epochs), max(atx_epochs) + 1) if atx_epochs else None,
                eligibility=line.eligibility(clock.epoch) if clock else None,
                rewards=rewards,
                post=PostView(
                    node_states.get(node_id), service, problem, line.asked_at, line.delivered_at
                ),  # fmt: skip
                banned=banned,
                last_error=line.post_failure,
                verdict=judge(facts),
            )
        )
    rows.sort(key=lambda r: (r.name is None, r.name or "", r.node_id))
    return WatchReport(
        generated_at=moment,
        listeners={"private": private, "public": public, "post": post},
        node=status,
        network=info,
        clock=clock,
        identities=tuple(rows),
        events=seen,
        errors=tuple([*errors.found.values(), *bad_keys]),
    )


def _services(
    specs: list[OperatorSpec],
    calls: list[Future[Any]],
    names: dict[bytes, str],
    errors: _Errors,
    problems: list[str],
) -> dict[bytes, ServiceState]:
    services: dict[bytes, ServiceState] = {}
    for spec, call in zip(specs, calls, strict=True):
        answer = errors.get(call)
        for served_id, state in answer or ():
            node_id = served_id or _resolve(spec.name or "", names)
            if node_id is None:
                problems.append(
                    f"--operator {spec.name}={spec.url}: {spec.name!r} is neither a key name of "
                    "the node nor a node id (64 hex)"
                )
                continue
            other = services.setdefault(node_id, state)
            if other is not state:
                problems.append(
                    f"identity {node_id.hex()} is served by both {other.source} and "
                    f"{state.source}: only one service may run for an identity"
                )
    return services


def _lists(
    pool: ThreadPoolExecutor,
    client: NodeClient,
    ids: list[bytes],
    epoch: int | None,
    info: Any,
    errors: _Errors,
) -> dict[bytes, tuple[set[int] | None, tuple[str, ...], Rewards | None]]:
    """node id -> (ATX publish epochs, malfeasance kinds, rewards) from the public listener."""
    if not ids or info is None or epoch is None:
        return {}
    per_epoch = info.layers_per_epoch
    atx_call = pool.submit(client.list_activations, ids)
    bans_call = pool.submit(client.list_malfeasance, ids)
    atxs = errors.get(atx_call)
    bans = errors.get(bans_call)
    if atxs is None and bans is None:  # the listener does not answer: no call per identity
        return {}
    last_calls = {i: pool.submit(client.list_rewards, i, max_rows=1) for i in ids}
    epoch_calls = {
        i: pool.submit(client.list_rewards, i, start_layer=(epoch - 1) * per_epoch,
                       end_layer=epoch * per_epoch - 1)
        for i in ids if epoch >= 1
    }  # fmt: skip
    found = {}
    for node_id in ids:
        epochs = (
            None if atxs is None else {a.publish_epoch for a in atxs if a.smesher_id == node_id}
        )
        kinds = tuple(p.kind for p in bans or () if p.smesher == node_id)
        last = errors.get(last_calls[node_id])
        in_epoch = errors.get(epoch_calls[node_id]) if node_id in epoch_calls else ()
        rewards = None
        if last is not None and in_epoch is not None:
            rewards = Rewards(last[0].layer if last else None, max(epoch - 1, 0),
                              sum(r.total for r in in_epoch))  # fmt: skip
        found[node_id] = (epochs, kinds, rewards)
    return found
