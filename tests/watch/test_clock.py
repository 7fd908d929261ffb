"""The clock of spec/node-watch.md on mainnet's numbers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mergetool.watch.clock import NetworkClock, PoetTiming, parse_go_duration

MAINNET = NetworkClock()


def test_epochs_of_layers_and_times() -> None:
    assert MAINNET.epoch_of_layer(4031) == 0 and MAINNET.epoch_of_layer(4032) == 1
    assert MAINNET.epoch_start(1) == datetime(2023, 7, 28, 8, 0, tzinfo=UTC)
    assert MAINNET.epoch_at(datetime(2023, 7, 28, 7, 59, tzinfo=UTC)) == 0
    assert MAINNET.layer_at(datetime(2023, 7, 14, 8, 10, tzinfo=UTC)) == 2


def test_the_cycle_gap_is_sunday_20_to_monday_08_utc() -> None:
    start, end = MAINNET.cycle_gap(1)
    assert (start, end) == (
        datetime(2023, 8, 6, 20, 0, tzinfo=UTC),
        datetime(2023, 8, 7, 8, 0, tzinfo=UTC),
    )
    assert start.strftime("%A") == "Sunday" and end.strftime("%A") == "Monday"
    assert MAINNET.poet_round_end(1) == start
    assert MAINNET.proof_deadline(1) == datetime(2023, 8, 10, 20, 0, tzinfo=UTC)
    assert MAINNET.publish_deadline(1) == MAINNET.epoch_start(2)


def test_the_window_names_the_next_gap() -> None:
    before = MAINNET.window(datetime(2023, 8, 1, tzinfo=UTC))
    assert (before.epoch, before.gap_epoch, before.in_cycle_gap) == (1, 1, False)
    during = MAINNET.window(datetime(2023, 8, 7, 1, 0, tzinfo=UTC))
    assert during.in_cycle_gap and during.until_cycle_gap_s == 0
    after = MAINNET.window(datetime(2023, 8, 8, tzinfo=UTC))
    assert (after.epoch, after.gap_epoch) == (1, 2)
    assert after.cycle_gap_start == datetime(2023, 8, 20, 20, 0, tzinfo=UTC)
    assert after.proof_deadline == datetime(2023, 8, 10, 20, 0, tzinfo=UTC)
    assert after.to_dict()["cycle_gap_start"] == "2023-08-20T20:00:00Z"


def test_a_test_network_clock() -> None:
    clock = NetworkClock(datetime(2026, 1, 1, tzinfo=UTC), 1.0, 10, PoetTiming(7.0, 3.0, 1.0))
    assert clock.cycle_gap(2) == (
        datetime(2026, 1, 1, 0, 0, 24, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 0, 27, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("text", "seconds"), [("240h", 864000.0), ("1h30m", 5400.0), ("90s", 90.0), ("0", 0.0)]
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "12", "h", "12 h", "-1h", "12d"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_go_duration(text)
