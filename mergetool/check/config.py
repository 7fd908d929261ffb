"""The node's JSON config file: read it with line/column errors, then check what a
multi-identity setup needs (``smeshing.*``, ``api.grpc-post-listener``, ``post.*``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mergetool._exceptions import InvalidInputFile
from mergetool._fs import read_regular_file
from mergetool.check.address import MAINNET_HRP, address_problem
from mergetool.check.findings import Finding, error, note, warning
from mergetool.post.params import PostParams

#: Sections whose presence makes a JSON object look like a node config.
_SECTIONS = ("api", "logging", "main", "p2p", "poet", "post", "preset", "smeshing", "sync")
#: ``post.*`` keys the node reads -> (our parameter, how the config writes it)
POST_KEYS = {
    "post-labels-per-unit": "labels_per_unit",
    "post-k1": "k1",
    "post-k2": "k2",
    "post-k3": "k3",
    "post-min-numunits": "min_num_units",
    "post-max-numunits": "max_num_units",
    "post-pow-difficulty": "pow_difficulty",
}
_MAX_CONFIG_BYTES = 16 << 20
#: Longer echoed values are cut: a message quotes a value, it does not reproduce the file.
_MAX_SHOWN = 100
#: A run of digits Python refuses to read as an int (its limit is 4300 digits).
_HUGE_NUMBER = re.compile(r"-?\d{4301,}")
#: Post listener hosts that mean "every network interface".
_ANY_HOST = ("0.0.0.0", "", "::", "[::]")


def shown(value: object, *, quote: bool = True) -> str:
    """``value`` as a message quotes it (``repr``), shortened when it is long."""
    text = repr(value) if quote else str(value)
    if len(text) <= _MAX_SHOWN:
        return text
    size = len(value) if isinstance(value, str) else len(str(value))
    unit = "characters" if isinstance(value, str) else "digits"
    return f"{text[: _MAX_SHOWN - 10]}… ({size} {unit})"


def _problem(
    path: Path, reason: str, line: int | None = None, column: int | None = None, *, code: str
) -> InvalidInputFile:
    """Why ``path`` cannot be checked: ``config_invalid`` (not JSON) or ``config_shape``."""
    return InvalidInputFile(path, reason, line=line, column=column, code=code)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _locate(text: str, keys: tuple[str, ...]) -> tuple[int, int] | tuple[None, None]:
    """Line and column of the value of ``keys`` (a path of object keys) in ``text``.

    json does not keep positions, so this finds each key in turn after the previous one:
    exact for the node's config, whose key names are distinct.
    """
    offset = 0
    for key in keys:
        match = re.compile(rf'"{re.escape(key)}"\s*:\s*').search(text, offset)
        if match is None:
            return None, None
        offset = match.end()
    return _position(text, offset)


def read_config(path: Path) -> tuple[dict[str, Any], str]:
    """The config as a dict and its text; InvalidInputFile names the line/column at fault."""
    try:
        raw = read_regular_file(Path(path), _MAX_CONFIG_BYTES)
    except OSError as exc:
        raise _problem(
            path, f"cannot read it ({exc.strerror or exc})", code="config_invalid"
        ) from exc
    if len(raw) > _MAX_CONFIG_BYTES:
        raise _problem(path, "far too large for a node config", code="config_invalid")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        prefix = raw[: exc.start].decode("utf-8", "replace")
        line, column = _position(prefix, len(prefix))
        raise _problem(path, "not UTF-8 text", line, column, code="config_invalid") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _problem(
            path, f"not valid JSON ({exc.msg})", exc.lineno, exc.colno, code="config_invalid"
        ) from exc
    except RecursionError as exc:
        raise _problem(
            path, "not a node config (JSON nested too deeply)", code="config_shape"
        ) from exc
    except ValueError as exc:  # an int longer than Python converts (not a JSONDecodeError)
        huge = _HUGE_NUMBER.search(text)
        line, column = _position(text, huge.start()) if huge else (None, None)
        digits = f" ({len(huge[0].lstrip('-'))} digits)" if huge else ""
        raise _problem(
            path, f"not valid JSON (a number far too long{digits})", line, column,
            code="config_invalid",
        ) from exc  # fmt: skip
    if not isinstance(doc, dict):
        start = len(text) - len(text.lstrip())
        raise _problem(
            path,
            f'expected a JSON object with sections like "smeshing" and "api", got {_kind(doc)}',
            *_position(text, start),
            code="config_shape",
        )
    if not any(section in doc for section in _SECTIONS):
        raise _problem(
            path,
            "not a node config: it has none of the sections " + ", ".join(_SECTIONS),
            1,
            1,
            code="config_shape",
        )
    for section in _SECTIONS:
        if section in doc and section != "preset" and not isinstance(doc[section], dict):
            raise _problem(
                path,
                f'"{section}" must be an object, got {_kind(doc[section])}',
                *_locate(text, (section,)),
                code="config_shape",
            )
    return doc, text


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


class _Checker:
    """The checks on one config; each appends a finding naming the key, line and file."""

    def __init__(self, path: Path, doc: dict[str, Any], text: str) -> None:
        self.path, self.doc, self.text = path, doc, text
        self.found: list[Finding] = []

    def at(self, *keys: str) -> str:
        line, column = _locate(self.text, keys)
        where = f" (line {line} column {column})" if line else ""
        return f"{self.path}: {'.'.join(keys)}{where}"

    def value(self, section: str, key: str) -> tuple[bool, Any]:
        block = self.doc.get(section, {})
        return key in block, block.get(key)

    def typed(self, section: str, key: str, kind: type | tuple[type, ...], what: str) -> Any:
        """The value when it has the right type; None (and a finding) when it has not."""
        present, value = self.value(section, key)
        if not present:
            return None
        if isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool):
            return value
        self.found.append(
            error(
                "config_shape",
                f"{self.at(section, key)} must be {what}, got {_kind(value)}",
                self.path,
            )
        )
        return None

    def smeshing(self, preset: str) -> None:
        start = self.typed("smeshing", "smeshing-start", bool, "true or false")
        if start is True:
            self.found.append(
                error(
                    "smeshing_start",
                    f"{self.at('smeshing', 'smeshing-start')} is true: the node would run its own "
                    "PoST service (supervised). Set it to false for remote PoST services.",
                    self.path,
                )
            )
        present, raw = self.value("smeshing", "smeshing-coinbase")
        coinbase = self.typed("smeshing", "smeshing-coinbase", str, "an address string")
        if not present or (coinbase is not None and not coinbase.strip()):
            self.found.append(
                error(
                    "coinbase_missing",
                    f"{self.path}: smeshing.smeshing-coinbase is not set: the node refuses every "
                    "PoST service. Set it to the address that receives the rewards.",
                    self.path,
                )
            )
        elif coinbase is not None:
            decoded = address_problem(coinbase.strip())
            if isinstance(decoded, str):
                self.found.append(
                    error(
                        "coinbase_invalid",
                        f"{self.at('smeshing', 'smeshing-coinbase')}: {shown(coinbase)} {decoded}; "
                        "copy the address again from your wallet.",
                        self.path,
                    )
                )
            elif preset == "mainnet" and decoded[0] != MAINNET_HRP:
                self.found.append(
                    warning(
                        "coinbase_network",
                        f"{self.at('smeshing', 'smeshing-coinbase')}: {shown(coinbase)} is a "
                        f"{decoded[0]!r} address, not a mainnet one ({MAINNET_HRP}1...); "
                        "use --preset test for a test network.",
                        self.path,
                    )
                )
        if self.value("smeshing", "smeshing-opts")[0]:
            self.found.append(
                note(
                    "smeshing_opts",
                    f"{self.at('smeshing', 'smeshing-opts')} is set: harmless, the node ignores it "
                    "while smeshing-start is false (each PoST service has its own --dir).",
                    self.path,
                )
            )

    def listener(self) -> None:
        present, _ = self.value("api", "grpc-post-listener")
        if not present:
            self.found.append(
                error(
                    "post_listener_missing",
                    f"{self.path}: api.grpc-post-listener is not set: newer nodes then listen on a "
                    'random port the services cannot find. Set it, e.g. "127.0.0.1:9094".',
                    self.path,
                )
            )
            return
        value = self.typed("api", "grpc-post-listener", str, "a HOST:PORT string")
        if value is None:
            return
        host, sep, port = value.rpartition(":")
        if not sep or not port.isdigit() or int(port) > 65535:
            self.found.append(
                error(
                    "post_listener_invalid",
                    f"{self.at('api', 'grpc-post-listener')}: {shown(value)} is not HOST:PORT; "
                    'write e.g. "127.0.0.1:9094".',
                    self.path,
                )
            )
        elif int(port) == 0:
            self.found.append(
                error(
                    "post_listener_random",
                    f"{self.at('api', 'grpc-post-listener')}: {shown(value)} has port 0, so the "
                    "node picks a random port the services cannot find. Give a fixed port, e.g. "
                    f'"{host if 0 < len(host) <= _MAX_SHOWN else "127.0.0.1"}:9094".',
                    self.path,
                )
            )
        elif host in _ANY_HOST:
            self.found.append(
                warning(
                    "post_listener_public",
                    f"{self.at('api', 'grpc-post-listener')}: {shown(value)} listens on every "
                    "network interface, and the node's PoST API has no authentication: anyone "
                    "who reaches the port can register as a PoST service. Bind it to "
                    '127.0.0.1 (e.g. "127.0.0.1:9094") or to the one address the services use, '
                    "behind a firewall.",
                    self.path,
                )
            )

    def post(self, params: PostParams, preset: str) -> None:
        for key, attr in POST_KEYS.items():
            if key == "post-pow-difficulty":
                value = self.typed("post", key, str, "a hex string")
                if value is None:
                    continue
                try:
                    got: object = bytes.fromhex(value.removeprefix("0x"))
                except ValueError:
                    self.found.append(
                        error(
                            "config_shape",
                            f"{self.at('post', key)}: {shown(value)} is not hex",
                            self.path,
                        )
                    )
                    continue
            else:
                got = value = self.typed("post", key, int, "a whole number")
                if got is None:
                    continue
            want = getattr(params, attr)
            if got != want:
                expected = want.hex() if isinstance(want, bytes) else want
                self.found.append(
                    error(
                        "post_param_mismatch",
                        f"{self.at('post', key)} is {shown(value, quote=False)}, "
                        f"the {preset} value is {expected}: proofs made with it would be rejected. "
                        "Remove the key (the node's default is right) or use --preset test for a "
                        "test network.",
                        self.path,
                    )
                )


def check_config(path: Path, params: PostParams, preset: str) -> list[Finding]:
    """Findings about the node config at ``path`` (``post.*`` compared only on mainnet)."""
    path = Path(path)
    try:
        doc, text = read_config(path)
    except InvalidInputFile as exc:
        return [error(exc.code, exc.message, path)]
    checker = _Checker(path, doc, text)
    checker.smeshing(preset)
    checker.listener()
    if preset == "mainnet":
        checker.post(params, preset)
    return checker.found
