"""``watch --follow`` against the node stand-in: the stream cut and re-subscribed (the replay
deduplicated, no alert twice), a node restart whose empty ring the lists make up for, and
alerts reaching a real webhook receiver and a real alert command once per cause."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mergetool.nodeapi.proto import events_pb2, v2alpha1_pb2
from mergetool.post.operator_api import OperatorServer
from mergetool.watch.client import NodeClient
from mergetool.watch.clock import PoetTiming
from mergetool.watch.follow import Follower, FollowSettings
from mergetool.watch.history import History
from mergetool.watch.log import LogLine
from mergetool.watch.notify import AlertCommand, Webhook
from mergetool.watch.read import read_watch
from tests.schema_check import assert_valid
from tests.watch.follow_fixtures import ALICE, BOB, INVALID, _atx, follow_node  # noqa: F401
from tests.watch.node_standin import WatchNode, wait_until
from tests.watch.receivers import alert_command, read_alerts, webhook_receiver
from tests.watch.scenario import Scenario


class Following:
    """A Follower running in a thread, with its log lines."""

    def __init__(self, node: WatchNode, state: Path, **kw: Any) -> None:
        self.lines: list[LogLine] = []
        self.client = NodeClient(
            private=node.address("private"), public=node.address("public"),
            post=node.address("post"), timeout_s=2.0,
        )  # fmt: skip
        self.history = History.open(state)
        settings = FollowSettings(
            refresh_s=kw.pop("refresh_s", 0.2), reconnect_first_s=0.05, reconnect_max_s=0.2,
            not_synced_after_s=kw.pop("not_synced_after_s", 1800.0),
        )  # fmt: skip
        self.follower = Follower(
            self.client, self.history, on_log=self.lines.append, settings=settings,
            notifier_options={"attempt_timeout_s": 1.0, "give_up_after_s": 3.0,
                              "first_retry_s": 0.05},
            **kw,
        )  # fmt: skip
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.follower.run, args=(self.stop,))

    def __enter__(self) -> Following:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(15)
        self.history.close()
        assert not self.thread.is_alive(), "the follower did not stop within its bound"
        for line in self.lines if exc[0] is None else ():
            assert_valid(line.to_dict(), "watch-log")

    def kinds(self, kind: str) -> list[LogLine]:
        return [line for line in list(self.lines) if line.kind == kind]


def _causes(docs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(d["cause"], d["state"]) for d in docs]


def test_a_cut_stream_is_resubscribed_and_its_replay_alerts_nothing_twice(
    follow_node: WatchNode,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    node = follow_node
    command, out = alert_command(tmp_path)
    with webhook_receiver() as hook:
        channels = [Webhook(hook.url), AlertCommand(command)]
        with Following(node, tmp_path / "watch.sqlite", channels=channels) as f:
            node.wait_subscribed()
            start = node.event("post_start", smesher=ALICE, challenge=b"c" * 32)
            failed = node.event("post_complete", failure=True, help=INVALID, smesher=ALICE)
            node.publish(start, failed)
            docs = hook.wait_for(1)
            assert _causes(docs) == [(f"post_failed:{ALICE.hex()}", "firing")]
            assert docs[0]["name"] == "alice" and INVALID in docs[0]["text"]

            node.buffer = 1  # two events at once overflow it: the node cuts us, we come back
            node.publish(node.event("proposal", smesher=BOB, layer=31, proposal=b"p"),
                         node.event("proposal", smesher=BOB, layer=32, proposal=b"q"))  # fmt: skip
            wait_until(lambda: f.follower.stream_subscriptions >= 2 and node.subscribers() == 1)
            node.buffer = 1000
            proposals = lambda: [r for r in f.history.records(BOB.hex()) if r.kind == "proposal"]  # noqa: E731
            wait_until(lambda: len(proposals()) == 2)

            good = node.event("post_complete", smesher=ALICE, challenge=b"c" * 32)
            node.publish(good)
            docs = hook.wait_for(2)
            ran = read_alerts(out, 2)
            # cut once more: the replay now holds the failure and the recovery again
            before = f.follower.stream_subscriptions
            node.buffer = 1
            node.publish(node.event("proposal", smesher=BOB, layer=33, proposal=b"r"),
                         node.event("proposal", smesher=BOB, layer=34, proposal=b"s"))  # fmt: skip
            wait_until(lambda: f.follower.stream_subscriptions > before and node.subscribers())
            node.buffer = 1000
            wait_until(lambda: len(proposals()) == 4)
            assert hook.wait_for(3, timeout_s=1.0) == docs
            assert f.kinds("stream-lost")
            lost = f.kinds("stream-lost")[0].message
            assert "buffer is full" in lost and "re-subscribing in" in lost
            # one alert per cause and one recovery, over both channels, though replayed
            expected = [(f"post_failed:{ALICE.hex()}", s) for s in ("firing", "resolved")]
            assert _causes(docs) == _causes(ran) == expected
            history = f.history.records(ALICE.hex())
            assert [r.kind for r in history if r.key.startswith("event:")] == [
                "post_start", "post_complete", "post_complete"
            ]  # fmt: skip
            named = f.kinds("proposal")
            assert [line.name for line in named] == ["bob"] * 4  # logged once each
            assert "proposal published in layer 31" in named[0].to_text()
    assert _causes(hook.received) == expected  # nothing more after stop


def test_after_a_node_restart_the_lists_fill_the_gap(
    follow_node: WatchNode,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    node = follow_node
    with (
        webhook_receiver() as hook,
        Following(node, tmp_path / "watch.sqlite", channels=[Webhook(hook.url)]) as f,
    ):
        node.wait_subscribed()
        wait_until(lambda: any(r.key == f"atx:{ALICE.hex()}:2"
                               for r in f.history.records(ALICE.hex())))  # fmt: skip
        node.restart()  # its ring is empty now: what happens next is told by no event
        node.activations.append(_atx(ALICE, 3))
        node.rewards.append(
            v2alpha1_pb2.Reward(layer=31, total=7 * 10**9, layer_reward=10**9, smesher=ALICE)
        )
        node.malfeasance.append(v2alpha1_pb2.MalfeasanceProof(smesher=BOB, domain=1, type=1))
        wait_until(lambda: node.subscribers() == 1)
        keys = lambda: {r.key for r in f.history.records(ALICE.hex())}  # noqa: E731
        wait_until(lambda: {f"atx:{ALICE.hex()}:3", f"reward:{ALICE.hex()}:31"} <= keys())
        slots = [events_pb2.ProposalEligibility(layer=31 + i, count=1) for i in range(3)]
        node.publish(node.event("eligibilities", smesher=ALICE, epoch=3, eligibilities=slots))
        docs = hook.wait_for(1)
        assert _causes(docs) == [(f"banned:{BOB.hex()}", "firing")]
        assert "double-published ATX" in docs[0]["text"]
        wait_until(lambda: len(f.kinds("reward")) == 1)
        assert "reward of 7.000 SMH in layer 31" in f.kinds("reward")[0].message
        facts = f.follower.facts()
        assert facts is not None
        alice = next(i for i in facts.identities if i.name == "alice")
        wait_until(lambda: len(f.kinds("eligibilities")) == 1)
        assert f.kinds("eligibilities")[0].message == "3 proposal slots in epoch 3"
        facts = f.follower.facts()
        assert facts is not None
        alice = next(i for i in facts.identities if i.name == "alice")
        assert (alice.verdict, alice.atx_epoch, alice.last_reward_layer) == ("earning", 3, 31)
        assert alice.eligible_slots == 3
    assert _causes(hook.received) == [(f"banned:{BOB.hex()}", "firing")]


def test_a_missed_epoch_alerts_once_across_a_restart_of_the_watcher(
    follow_node: WatchNode,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    node = follow_node
    node.activations = [a for a in node.activations if a.smesher_id == ALICE or a.publish_epoch < 2]
    state = tmp_path / "watch.sqlite"
    with webhook_receiver() as hook:
        with Following(node, state, channels=[Webhook(hook.url)]):
            assert _causes(hook.wait_for(1)) == [(f"missed_epoch:3:{BOB.hex()}", "firing")]
        with Following(node, state, channels=[Webhook(hook.url)]) as f:
            wait_until(lambda: f.follower.facts() is not None)
            wait_until(lambda: len(f.kinds("alert")) == 0 and f.follower.rules.active)
        node.activations.append(_atx(BOB, 3))  # too late for epoch 3, but on track again
        with Following(node, state, channels=[Webhook(hook.url)]):
            docs = hook.wait_for(2)
    assert _causes(docs) == [
        (f"missed_epoch:3:{BOB.hex()}", "firing"),
        (f"missed_epoch:3:{BOB.hex()}", "resolved"),
    ]


def test_an_unreachable_node_is_told_once_and_stops_cleanly(
    tmp_path: Path, closed_port: int
) -> None:
    address = f"127.0.0.1:{closed_port}"
    client = NodeClient(private=address, public=address, timeout_s=0.5)
    lines: list[LogLine] = []
    with History.open(tmp_path / "w.sqlite") as history:
        settings = FollowSettings(refresh_s=0.1, reconnect_first_s=0.05, reconnect_max_s=0.1)
        follower = Follower(client, history, on_log=lines.append, settings=settings)
        stop = threading.Event()
        thread = threading.Thread(target=follower.run, args=(stop,))
        thread.start()
        wait_until(lambda: len([x for x in lines if x.kind == "stream-lost"]) >= 3)
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    failed = [x for x in lines if x.kind == "read-failed"]
    assert len(failed) == 1 and address in failed[0].message
    assert lines[-1].kind == "stopped"


def _report(s: Scenario, operators: list[str]) -> Callable[[Any], Any]:
    """read_watch bound to the scenario's flags (``operators`` read at each call)."""

    def report(events: Any) -> Any:
        return read_watch(config=s.config, node_dir=s.node_dir, operators=list(operators),
                          events_idle_s=0.1, timeout_s=2.0, events=events)  # fmt: skip

    return report


def test_no_service_while_the_node_asks_alerts_once_and_recovers(
    s: Scenario, tmp_path: Path
) -> None:
    with OperatorServer("127.0.0.1:0") as post_rs, webhook_receiver() as hook:
        alpha = s.healthy("alpha")
        s.add_key("delta", loaded=False)  # a key the node has not loaded (added later)
        s.node.proving.add(alpha)
        post_rs.set_idle()
        report = _report(s, [f"alpha=http://127.0.0.1:{post_rs.address[1]}"])
        with Following(
            s.node, tmp_path / "watch.sqlite", channels=[Webhook(hook.url)], report=report
        ) as f:
            docs = hook.wait_for(1)
            assert _causes(docs) == [(f"asked_without_service:{alpha.hex()}", "firing")]
            assert docs[0]["name"] == "alpha"
            post_rs.set_proving(0, 128, 0)
            docs = hook.wait_for(2)
            facts = f.follower.facts()
            assert facts is not None
            verdicts = {i.name: i.verdict for i in facts.identities}
            assert verdicts == {"alpha": "proving", "delta": "not_loaded"}
        assert _causes(docs) == [
            (f"asked_without_service:{alpha.hex()}", "firing"),
            (f"asked_without_service:{alpha.hex()}", "resolved"),
        ]


def test_a_cycle_gap_with_no_service_connected_alerts_once_and_recovers(
    s: Scenario, tmp_path: Path, closed_port: int
) -> None:
    doc = json.loads(s.config.read_text())  # now (20 min into the epoch) is in the cycle gap
    doc["poet"] = {"phase-shift": "40m", "cycle-gap": "30m", "grace-period": "1m"}
    s.config.write_text(json.dumps(doc))
    poet = PoetTiming(phase_shift_s=40 * 60, cycle_gap_s=30 * 60, grace_period_s=60)
    with OperatorServer("127.0.0.1:0") as post_rs, webhook_receiver() as hook:
        alpha = s.healthy("alpha")
        post_rs.set_idle()
        operators = [f"alpha=http://127.0.0.1:{closed_port}"]  # its service is down
        with Following(
            s.node, tmp_path / "watch.sqlite", channels=[Webhook(hook.url)],
            report=_report(s, operators), poet=poet,
        ) as f:  # fmt: skip
            docs = hook.wait_for(1)
            assert [d["kind"] for d in docs] == ["cycle_gap_without_service"]
            assert "no PoST service is connected" in docs[0]["text"]
            wait_until(lambda: len(f.kinds("read-failed")) == 1)
            operators[0] = f"alpha=http://127.0.0.1:{post_rs.address[1]}"  # it is back
            docs = hook.wait_for(2)
        cause = docs[0]["cause"]
        assert cause.startswith("cycle_gap_without_service:") and cause.endswith(alpha.hex())
        assert _causes(docs) == [(cause, "firing"), (cause, "resolved")]


def test_a_node_not_synced_for_long_alerts_once_and_recovers(
    follow_node: WatchNode,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    node = follow_node
    node.sync = "syncing"
    with (
        webhook_receiver() as hook,
        Following(
            node, tmp_path / "watch.sqlite", channels=[Webhook(hook.url)], not_synced_after_s=0.5
        ) as f,
    ):
        docs = hook.wait_for(1)
        assert _causes(docs) == [("not_synced", "firing")]
        assert "status syncing" in docs[0]["text"]
        assert f.follower.metrics is None  # no --metrics-address: no registry at all
        node.sync = "synced"
        docs = hook.wait_for(2)
    assert _causes(docs) == [("not_synced", "firing"), ("not_synced", "resolved")]


def test_a_failing_history_file_ends_the_watcher_with_its_error(
    follow_node: WatchNode,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    from mergetool._exceptions import DatabaseError

    node = follow_node
    f = Following(node, tmp_path / "watch.sqlite", refresh_s=600.0)  # only the stream writes
    failures: list[BaseException] = []

    def run() -> None:
        try:
            f.follower.run(f.stop)
        except BaseException as exc:  # noqa: BLE001 - what the CLI would get
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        node.wait_subscribed()
        f.history._conn.close()  # the file's connection fails from now on, as on a dead disk
        node.publish(node.event("proposal", smesher=BOB, layer=31, proposal=b"p"))
        thread.join(15)
        assert not thread.is_alive()
    finally:
        f.stop.set()
        thread.join(15)
    assert len(failures) == 1 and isinstance(failures[0], DatabaseError)
    assert str(tmp_path / "watch.sqlite") in str(failures[0])
    assert f.lines[-1].kind == "stopped"
    assert node.subscribers() == 0


def test_the_verdicts_use_every_event_kept_not_only_the_nodes_ring(
    s: Scenario, tmp_path: Path
) -> None:
    alpha = s.healthy("alpha")
    with Following(s.node, tmp_path / "watch.sqlite", report=_report(s, [])) as f:
        s.node.publish(s.node.event("proposal", smesher=alpha, layer=499, proposal=b"p"))
        wait_until(lambda: f.kinds("proposal"))  # our stream is subscribed
        s.node.publish(s.node.event("post_complete", failure=True, help=INVALID, smesher=alpha))
        s.node.publish(*[s.node.event("proposal", smesher=alpha, layer=500 + i, proposal=b"p")
                         for i in range(120)])  # fmt: skip  # the ring forgets the failure
        wait_until(lambda: len(f.kinds("proposal")) == 121)

        def verdict() -> str | None:
            facts = f.follower.facts()
            return facts.identities[0].verdict if facts and facts.identities else None

        wait_until(lambda: verdict() == "post_failed")
        time.sleep(0.5)  # a few more refreshes
        assert verdict() == "post_failed"
