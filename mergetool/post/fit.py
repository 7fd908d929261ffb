"""Does it fit the cycle gap? A proving pass per space unit, bound by the scan or the disk.

``post profile`` measures the scan (AES + compare) for a nonce and thread count; a pass over
real data also has to be read from its disk. The slower of the two sets how long one pass
takes per space unit, and so how many units one machine can prove inside the cycle gap.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from mergetool._exceptions import InvalidParameters, PostError
from mergetool.post.metadata import data_file_name

GIB = 1 << 30
#: The node's cycle gap: the window in which a proof must be delivered (12 hours).
CYCLE_GAP_S = 12 * 3600.0
#: A short measured read: at most this much, or this long, whichever comes first.
READ_SAMPLE_BYTES = 1 << 30
READ_SAMPLE_S = 3.0
_READ_CHUNK = 8 << 20


@dataclass(frozen=True)
class CycleFit:
    """How many space units one pass can cover inside ``cycle_gap_s``."""

    scan_gib_s: float
    #: the disk's read speed, or None when neither given nor measured
    read_gib_s: float | None
    #: "measured" (a short read of a data folder), "given", or None
    read_source: str | None
    unit_gib: float
    cycle_gap_s: float

    @property
    def speed_gib_s(self) -> float:
        """The speed of a real pass: the slower of scan and disk."""
        return min(self.scan_gib_s, self.read_gib_s or math.inf)

    @property
    def bound(self) -> str:
        """Which of the two sets the pace: "scan" or "disk"."""
        return (
            "disk" if self.read_gib_s is not None and self.read_gib_s < self.scan_gib_s else "scan"
        )

    @property
    def pass_s_per_unit(self) -> float:
        return self.unit_gib / self.speed_gib_s

    @property
    def units(self) -> int:
        """Whole space units one pass covers in the cycle gap."""
        return math.floor(self.cycle_gap_s / self.pass_s_per_unit)

    def to_dict(self) -> dict[str, object]:
        return {
            "scan_speed_gib_s": round(self.scan_gib_s, 4),
            "read_speed_gib_s": None if self.read_gib_s is None else round(self.read_gib_s, 4),
            "read_speed_source": self.read_source,
            "unit_gib": self.unit_gib,
            "pass_s_per_unit": float(f"{self.pass_s_per_unit:.6g}"),
            "cycle_gap_s": self.cycle_gap_s,
            "units_in_cycle_gap": self.units,
            "bound": self.bound,
        }


def check_cycle_gap(cycle_gap_s: float) -> None:
    if not (math.isfinite(cycle_gap_s) and cycle_gap_s > 0):
        raise InvalidParameters(
            f"`cycle_gap_s` must be a positive number of seconds, got {cycle_gap_s}",
            parameter="cycle_gap_s",
        )


def check_read_speed(read_gib_s: float) -> None:
    if not (math.isfinite(read_gib_s) and read_gib_s > 0):
        raise InvalidParameters(
            f"`read_gib_s` must be a positive number of GiB/s, got {read_gib_s}",
            parameter="read_gib_s",
        )


def data_files(directory: Path) -> list[Path]:
    """The ``postdata_N.bin`` files of a PoST data folder, in order; refuses a folder with none."""
    directory = Path(directory)
    found = []
    while (directory / data_file_name(len(found))).is_file():
        found.append(directory / data_file_name(len(found)))
    if not found:
        raise InvalidParameters(
            f"{directory}: no PoST data files ({data_file_name(0)} …) to measure the disk with",
            hint="Give the PoST data folder on the disk to measure, or that disk's read speed.",
        )
    return found


def measure_read_speed(
    directory: Path,
    *,
    max_bytes: int = READ_SAMPLE_BYTES,
    max_s: float = READ_SAMPLE_S,
    drop_cache: bool = True,
) -> float:
    """GiB/s of a short sequential read of ``directory``'s data files (never written).

    Cached pages are dropped first where the platform allows, so the disk is what is timed.
    """
    files = data_files(directory)
    done, started = 0, time.perf_counter()
    try:
        for path in files:
            with open(path, "rb", buffering=0) as f:
                if drop_cache and hasattr(os, "posix_fadvise"):
                    os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
                while done < max_bytes and time.perf_counter() - started < max_s:
                    chunk = f.read(_READ_CHUNK)
                    if not chunk:
                        break
                    done += len(chunk)
            if done >= max_bytes or time.perf_counter() - started >= max_s:
                break
    except OSError as exc:
        raise PostError(f"cannot read {exc.filename or directory}: {exc.strerror or exc}") from exc
    elapsed = max(time.perf_counter() - started, 1e-9)
    if done == 0:
        raise InvalidParameters(
            f"{directory}: its data files are empty, nothing to measure the disk with"
        )
    return done / GIB / elapsed


def fit_cycle_gap(
    scan_gib_s: float,
    *,
    labels_per_unit: int,
    read_gib_s: float | None = None,
    read_source: str | None = None,
    cycle_gap_s: float = CYCLE_GAP_S,
) -> CycleFit:
    """How long one pass takes per space unit of ``labels_per_unit`` labels, and how many
    units fit ``cycle_gap_s`` at the slower of ``scan_gib_s`` and ``read_gib_s``."""
    check_cycle_gap(cycle_gap_s)
    if read_gib_s is not None:
        check_read_speed(read_gib_s)
    if not scan_gib_s > 0:
        raise PostError(f"the measured scan speed is {scan_gib_s} GiB/s")
    unit_gib = labels_per_unit * 16 / GIB
    return CycleFit(scan_gib_s, read_gib_s, read_source, unit_gib, cycle_gap_s)
