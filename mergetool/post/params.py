"""Network parameters of PoST and the named presets the CLI offers (``--preset``)."""

from __future__ import annotations

from dataclasses import dataclass

from mergetool._exceptions import InvalidParameters
from mergetool.postdata.metadata import MAX_NUM_UNITS
from mergetool.postdata.metadata import U64_MAX as U64_MAX  # (re-exported: u64 is post's too)

MAINNET_POW_DIFFICULTY = bytes.fromhex("000dfb23b0979b4b") + bytes(24)


@dataclass(frozen=True)
class PostParams:
    """Everything a network fixes about PoST data and proofs."""

    labels_per_unit: int
    min_num_units: int
    max_num_units: int
    scrypt_n: int
    k1: int
    k2: int
    k3: int
    pow_difficulty: bytes

    def check_units(self, num_units: int) -> None:
        """Raise InvalidParameters unless ``num_units`` is within [min, max]."""
        if not self.min_num_units <= num_units <= self.max_num_units:
            raise InvalidParameters(
                f"num_units {num_units} is outside [{self.min_num_units}, {self.max_num_units}]"
            )


PRESETS: dict[str, PostParams] = {
    "mainnet": PostParams(
        labels_per_unit=1 << 32,
        min_num_units=4,
        max_num_units=MAX_NUM_UNITS,
        scrypt_n=8192,
        k1=26,
        k2=37,
        k3=1,
        pow_difficulty=MAINNET_POW_DIFFICULTY,
    ),
    # Tiny values for tests and demos: 256 labels (4 KiB) per unit, scrypt N = 2, an easy
    # pow (any hash passes) and k1 < k2 so a proof needs a few passes' worth of luck.
    "test": PostParams(
        labels_per_unit=256,
        min_num_units=1,
        max_num_units=1 << 10,
        scrypt_n=2,
        k1=12,
        k2=8,
        k3=4,
        pow_difficulty=b"\xff" * 32,
    ),
}


def check_32_bytes(name: str, value: bytes) -> None:
    """Raise InvalidParameters naming ``name`` unless ``value`` is 32 bytes long."""
    if len(value) != 32:
        raise InvalidParameters(f"{name} must be 32 bytes, got {len(value)}")


def check_label_range(commitment: bytes, start: int, count: int) -> None:
    """Raise InvalidParameters unless ``commitment`` is 32 bytes and the labels fit in u64."""
    check_32_bytes("commitment", commitment)
    if start < 0 or count < 0 or start + count > 1 << 64:
        raise InvalidParameters(f"label range {start}+{count} is outside 0 .. 2^64")


def check_data_params(params: PostParams, labels_per_unit: int) -> None:
    """Refuse ``params`` for data of ``labels_per_unit`` (its metadata's) when they differ.

    Proving test-size data with mainnet parameters runs for minutes and finds nothing.
    """
    if labels_per_unit == params.labels_per_unit:
        return
    named = [name for name, p in PRESETS.items() if p.labels_per_unit == labels_per_unit]
    if not named and labels_per_unit < PRESETS["mainnet"].labels_per_unit:
        named = ["test"]  # test-size data made with other sizes than the preset's
    hint = (
        f'Pass `preset="{named[0]}"` if the data was made with its parameters.'
        if named and PRESETS[named[0]] != params
        else "Give the parameters the data was initialized with."
    )
    raise InvalidParameters(
        f"the data has {labels_per_unit} labels per unit, the parameters {params.labels_per_unit}",
        hint=hint,
        parameter="preset",
    )


def preset(name: str) -> PostParams:
    """The preset called ``name`` ("mainnet" or "test")."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InvalidParameters(
            f"unknown preset {name!r}", hint=f"Choose one of: {', '.join(sorted(PRESETS))}."
        ) from None


#: Worker processes (and RandomX VMs) of ``prove``/``profile``: far above any core count, low
#: enough that a typo cannot start thousands of processes.
MAX_THREADS = 256


def check_threads(threads: int) -> None:
    """Raise InvalidParameters unless ``1 <= threads <= MAX_THREADS``."""
    if not 1 <= threads <= MAX_THREADS:
        raise InvalidParameters(f"threads must be 1 .. {MAX_THREADS}, got {threads}")
