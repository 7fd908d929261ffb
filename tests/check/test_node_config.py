"""The node config: every shape an operator's file can have, each finding naming key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from mergetool.check.address import encode_address
from mergetool.check.config import check_config
from mergetool.post.params import PRESETS
from tests.check.check_helpers import COINBASE, GOOD_CONFIG, in_time

MAINNET = PRESETS["mainnet"]


def _check(
    tmp_path: Path, doc: object | str, preset: str = "mainnet"
) -> list[tuple[str, str, str]]:
    import json

    path = tmp_path / "config.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2))
    found = check_config(path, PRESETS[preset], preset)
    assert all(f.path == path for f in found)
    return [(f.code, f.level, f.message.replace(str(path), "CFG")) for f in found]


def _with(section: str, **values: object) -> dict[str, object]:
    doc = {k: dict(v) for k, v in GOOD_CONFIG.items()}
    doc[section].update({k.replace("_", "-"): v for k, v in values.items()})
    return doc


def test_a_good_config_has_no_finding(tmp_path: Path) -> None:
    assert _check(tmp_path, GOOD_CONFIG) == []


def test_not_json_names_line_and_column(tmp_path: Path) -> None:
    text = '{\n  "smeshing": {\n    "smeshing-start": false,\n  }\n}\n'
    assert _check(tmp_path, text) == [
        (
            "config_invalid",
            "error",
            "CFG: line 4 column 3: not valid JSON (Expecting property name enclosed in double "
            "quotes)",
        )
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "\n  [1, 2]",
            "CFG: line 2 column 3: expected a JSON object with sections like "
            '"smeshing" and "api", got a list',
        ),
        (
            '{"NodeId": "abc"}',
            "CFG: line 1 column 1: not a node config: it has none of the "
            "sections api, logging, main, p2p, poet, post, preset, smeshing, sync",
        ),
        (
            '{\n  "api": {},\n  "smeshing": "on"\n}',
            'CFG: line 3 column 15: "smeshing" must be an object, got a string',
        ),
    ],
    ids=["list", "other-json", "section-not-object"],
)
def test_unknown_shape_names_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    assert _check(tmp_path, text) == [("config_shape", "error", message)]


def test_a_value_of_the_wrong_type(tmp_path: Path) -> None:
    found = _check(tmp_path, _with("smeshing", smeshing_start="false"))
    assert found == [
        (
            "config_shape",
            "error",
            "CFG: smeshing.smeshing-start (line 6 column 23) must be true or false, got a string",
        )
    ]


def test_smeshing_start_true_is_an_error(tmp_path: Path) -> None:
    assert _check(tmp_path, _with("smeshing", smeshing_start=True)) == [
        (
            "smeshing_start",
            "error",
            "CFG: smeshing.smeshing-start (line 6 column 23) is true: the node would run its own "
            "PoST service (supervised). Set it to false for remote PoST services.",
        )
    ]


@pytest.mark.parametrize("coinbase", [None, "", "  "])
def test_no_coinbase_is_an_error(tmp_path: Path, coinbase: str | None) -> None:
    doc = _with("smeshing")
    if coinbase is None:
        del doc["smeshing"]["smeshing-coinbase"]  # type: ignore[attr-defined]
    else:
        doc["smeshing"]["smeshing-coinbase"] = coinbase  # type: ignore[index]
    assert _check(tmp_path, doc) == [
        (
            "coinbase_missing",
            "error",
            "CFG: smeshing.smeshing-coinbase is not set: the node refuses every PoST service. "
            "Set it to the address that receives the rewards.",
        )
    ]


def test_a_coinbase_that_is_no_address(tmp_path: Path) -> None:
    typo = COINBASE[:-1] + ("q" if COINBASE[-1] != "q" else "p")
    assert _check(tmp_path, _with("smeshing", smeshing_coinbase=typo)) == [
        (
            "coinbase_invalid",
            "error",
            f"CFG: smeshing.smeshing-coinbase (line 7 column 26): {typo!r} has a wrong checksum "
            "(a typo?); copy the address again from your wallet.",
        )
    ]


def test_a_test_network_coinbase_warns_on_mainnet_only(tmp_path: Path) -> None:
    other = encode_address(bytes(24), "stest")
    doc = _with("smeshing", smeshing_coinbase=other)
    [(code, level, _)] = _check(tmp_path, doc)
    assert (code, level) == ("coinbase_network", "warning")
    assert _check(tmp_path, doc, "test") == []


@pytest.mark.parametrize(
    ("listener", "code", "tail"),
    [
        (
            None,
            "post_listener_missing",
            "CFG: api.grpc-post-listener is not set: newer nodes "
            'then listen on a random port the services cannot find. Set it, e.g. "127.0.0.1:9094".',
        ),
        (
            ":0",
            "post_listener_random",
            "CFG: api.grpc-post-listener (line 3 column 27): ':0' has "
            "port 0, so the node picks a random port the services cannot find. Give a fixed port, "
            'e.g. "127.0.0.1:9094".',
        ),
        (
            "0.0.0.0:0",
            "post_listener_random",
            "CFG: api.grpc-post-listener (line 3 column 27): "
            "'0.0.0.0:0' has port 0, so the node picks a random port the services cannot find. "
            'Give a fixed port, e.g. "0.0.0.0:9094".',
        ),
        (
            "localhost",
            "post_listener_invalid",
            "CFG: api.grpc-post-listener (line 3 column 27): "
            "'localhost' is not HOST:PORT; write e.g. \"127.0.0.1:9094\".",
        ),
    ],
)
def test_the_post_listener_must_be_a_fixed_port(
    tmp_path: Path, listener: str | None, code: str, tail: str
) -> None:
    doc = _with("api")
    if listener is None:
        del doc["api"]["grpc-post-listener"]  # type: ignore[attr-defined]
    else:
        doc["api"]["grpc-post-listener"] = listener  # type: ignore[index]
    assert _check(tmp_path, doc) == [(code, "error", tail)]


def test_smeshing_opts_is_a_note(tmp_path: Path) -> None:
    doc = _with("smeshing", smeshing_opts={"smeshing-opts-numunits": 4})
    [(code, level, message)] = _check(tmp_path, doc)
    assert (code, level) == ("smeshing_opts", "note")
    assert message.startswith("CFG: smeshing.smeshing-opts (line 8 column 22) is set: harmless")


def test_post_values_are_compared_with_mainnet_unless_preset_test(tmp_path: Path) -> None:
    doc = _with("post", post_k1=12, post_labels_per_unit=256, post_pow_difficulty="ff" * 32)
    found = _check(tmp_path, doc)
    assert [(c, lvl) for c, lvl, _ in found] == [("post_param_mismatch", "error")] * 3
    assert found[0][2] == (
        "CFG: post.post-labels-per-unit (line 12 column 29) is 256, the mainnet value is "
        f"{MAINNET.labels_per_unit}: proofs made with it would be rejected. Remove the key (the "
        "node's default is right) or use --preset test for a test network."
    )
    assert "post.post-k1" in found[1][2] and "is 12, the mainnet value is 26" in found[1][2]
    assert f"the mainnet value is {MAINNET.pow_difficulty.hex()}" in found[2][2]
    assert _check(tmp_path, doc, "test") == []
    same = _with("post", post_pow_difficulty=MAINNET.pow_difficulty.hex(), post_min_numunits=4)
    assert _check(tmp_path, same) == []


def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    found = in_time(lambda: check_config(fifo, MAINNET, "mainnet"))
    assert [(f.code, f.level, f.message) for f in found] == [
        (
            "config_invalid",
            "error",
            f"{fifo}: cannot read it (it is a FIFO (named pipe), not a regular file)",
        )
    ]


@pytest.mark.parametrize("listener", ["0.0.0.0:9094", ":9094", "[::]:9094"])
def test_a_post_listener_on_every_interface_is_a_warning(tmp_path: Path, listener: str) -> None:
    doc = _with("api")
    doc["api"]["grpc-post-listener"] = listener  # type: ignore[index]
    assert _check(tmp_path, doc) == [
        (
            "post_listener_public",
            "warning",
            f"CFG: api.grpc-post-listener (line 3 column 27): {listener!r} listens on every "
            "network interface, and the node's PoST API has no authentication: anyone who "
            "reaches the port can register as a PoST service. Bind it to 127.0.0.1 (e.g. "
            '"127.0.0.1:9094") or to the one address the services use, behind a firewall.',
        )
    ]


def test_a_number_too_long_to_read_names_line_and_column(tmp_path: Path) -> None:
    text = '{\n  "post": {\n    "post-k1": ' + "7" * 5000 + "\n  }\n}\n"
    assert _check(tmp_path, text) == [
        (
            "config_invalid",
            "error",
            "CFG: line 3 column 16: not valid JSON (a number far too long (5000 digits))",
        )
    ]


def test_huge_values_are_shortened_in_messages(tmp_path: Path) -> None:
    doc = _with("post", post_k1=int("9" * 4000))
    doc["smeshing"]["smeshing-coinbase"] = "x" * 3000  # type: ignore[index]
    doc["api"]["grpc-post-listener"] = "h" * 3000 + ":0"  # type: ignore[index]
    found = _check(tmp_path, doc)
    assert [code for code, _, _ in found] == [
        "coinbase_invalid",
        "post_listener_random",
        "post_param_mismatch",
    ]
    assert all(len(message) < 400 for _, _, message in found), found
    assert f"is {'9' * 90}… (4000 digits), the mainnet value is " in found[2][2]
    assert f"{'x' * 89}… (3000 characters)" in found[0][2]
    assert 'e.g. "127.0.0.1:9094"' in found[1][2]
