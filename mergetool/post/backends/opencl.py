"""OpenCL label backend: our scrypt-jane kernel (``scrypt_jane.cl``) run through PyOpenCL.

Works on any OpenCL platform: GPU drivers, or PoCL on a plain CPU. pyopencl is imported only
when a function here needs it, so importing this module never fails.
"""

from __future__ import annotations

import importlib.resources
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mergetool._exceptions import (
    BackendUnavailable,
    InvalidParameters,
    NoOpenCLDevice,
    OpenCLFailed,
)
from mergetool.post.backends.base import smallest_below
from mergetool.post.params import check_32_bytes, check_label_range

_PIP_HINT = "Install it with: pip install 'mergetool[opencl]'"
# Work items per launch never exceed this, whatever the memory allows: keeps host buffers small.
_MAX_ITEMS = 1 << 16
# Each VRF-scan work item checks up to this many labels and copies back one candidate for them.
_VRF_LABELS_PER_ITEM = 16
_NO_CANDIDATE = np.uint64(2**64 - 1)
_NO_OFFSET = np.uint32(2**32 - 1)
# Labels per work item on CPUs: four ChaCha chains in one 16-word vector fill AVX2 and keep more
# memory reads in flight (measured ~2x over one lane with PoCL). GPUs get their parallelism from
# work items and would pay for the wider state in registers, so they use one lane.
_CPU_LANES = 4


@dataclass(frozen=True)
class DeviceInfo:
    """One OpenCL device; ``id`` is "platform:device" as ``--device`` takes it."""

    id: str
    platform: str
    name: str
    type: str
    global_memory: int
    max_alloc: int
    compute_units: int

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly copy."""
        return asdict(self)


def _cl() -> Any:
    try:
        import pyopencl
    except ImportError as exc:
        raise BackendUnavailable("pyopencl is not installed", hint=_PIP_HINT) from exc
    return pyopencl


def _device_type(cl: Any, bits: int) -> str:
    names = [
        name
        for name, flag in (
            ("GPU", cl.device_type.GPU),
            ("CPU", cl.device_type.CPU),
            ("ACCELERATOR", cl.device_type.ACCELERATOR),
            ("CUSTOM", getattr(cl.device_type, "CUSTOM", 0)),
        )
        if flag and bits & flag
    ]
    return "|".join(names) or "OTHER"


def _devices(cl: Any) -> list[tuple[DeviceInfo, Any]]:
    try:
        platforms = cl.get_platforms()
    except cl.Error:
        # The ICD loader reports "no platform" as an error (PLATFORM_NOT_FOUND_KHR).
        return []
    found = []
    for p_index, platform in enumerate(platforms):
        try:
            devices = platform.get_devices()
        except cl.Error:
            continue  # a platform without devices (e.g. a GPU driver with no GPU) lists none
        for d_index, dev in enumerate(devices):
            info = DeviceInfo(
                id=f"{p_index}:{d_index}",
                platform=platform.name.strip(),
                name=dev.name.strip(),
                type=_device_type(cl, dev.type),
                global_memory=int(dev.global_mem_size),
                max_alloc=int(dev.max_mem_alloc_size),
                compute_units=int(dev.max_compute_units),
            )
            found.append((info, dev))
    return found


def list_devices() -> list[DeviceInfo]:
    """Every OpenCL device of every platform; empty when no OpenCL runtime is installed."""
    return [info for info, _ in _devices(_cl())]


def is_available() -> bool:
    """Whether pyopencl is installed and at least one device can be used; never raises."""
    try:
        return bool(list_devices())
    except Exception:  # noqa: BLE001 - a broken driver means "not available", not a crash
        return False


def _pick(found: list[tuple[DeviceInfo, Any]], device: str | None) -> tuple[DeviceInfo, Any]:
    if not found:
        raise NoOpenCLDevice(device)
    if device is None:
        # A GPU beats a CPU runtime when both are installed.
        gpus = [pair for pair in found if "GPU" in pair[0].type]
        return (gpus or found)[0]
    for pair in found:
        if pair[0].id == device:
            return pair
    raise NoOpenCLDevice(device, known=[info.id for info, _ in found])


def _kernel_source() -> str:
    return (
        importlib.resources.files("mergetool.post.backends")
        .joinpath("scrypt_jane.cl")
        .read_text(encoding="utf-8")
    )


# One context per device and one built program per (device, N), shared by all backends of
# this process: PoCL takes seconds to compile, GPUs drivers too.
_LOCK = threading.Lock()
_CONTEXTS: dict[str, Any] = {}
_PROGRAMS: dict[tuple[str, int, int], Any] = {}


def _context(cl: Any, info: DeviceInfo, dev: Any) -> Any:
    with _LOCK:
        ctx = _CONTEXTS.get(info.id)
        if ctx is None:
            ctx = _CONTEXTS[info.id] = cl.Context([dev])
        return ctx


def _program(cl: Any, info: DeviceInfo, ctx: Any, scrypt_n: int, lanes: int) -> Any:
    key = (info.id, scrypt_n, lanes)
    with _LOCK:
        prog = _PROGRAMS.get(key)
        if prog is None:
            with warnings.catch_warnings():
                # PoCL's harmless build log would otherwise surface as a warning; the library
                # does not print.
                warnings.simplefilter("ignore")
                options = [f"-DSCRYPT_N={scrypt_n}", f"-DLANES={lanes}"]
                prog = cl.Program(ctx, _kernel_source()).build(options=options)
            _PROGRAMS[key] = prog
        return prog


def _check_n(scrypt_n: int) -> None:
    if scrypt_n < 2 or scrypt_n & (scrypt_n - 1) or scrypt_n > 1 << 31:
        raise InvalidParameters(f"scrypt N must be a power of two in 2 .. 2^31, got {scrypt_n}")


class OpenCLBackend:
    """scrypt-jane labels on an OpenCL device (``device``: an id from :func:`list_devices`).

    One instance per thread: it owns a command queue and a scratch buffer."""

    name = "opencl"

    def __init__(self, device: str | None = None, *, lanes: int | None = None) -> None:
        cl = _cl()
        self._cl = cl
        self.device_info, self._device = _pick(_devices(cl), device)
        # ``lanes`` overrides the per-device choice (tests run both kernels on one device).
        on_cpu = "CPU" in self.device_info.type
        self._lanes = lanes or (_CPU_LANES if on_cpu else 1)
        # PoCL compiles a kernel anew for every work-group size it picks, and it picks one per
        # global size: fixing it at 1 means one compile, and costs nothing measurable on a CPU.
        self._local: tuple[int] | None = (1,) if on_cpu else None
        try:
            self._ctx = _context(cl, self.device_info, self._device)
            self._queue = cl.CommandQueue(self._ctx)
        except cl.Error as exc:
            raise OpenCLFailed(
                self.device_info.id, "cannot create a context and queue", exc
            ) from exc
        self._kernels: dict[tuple[int, str], Any] = {}
        self._scratch: Any = None
        self._scratch_bytes = 0

    # --- sizing ---------------------------------------------------------------------------

    def _budget(self) -> int:
        # A quarter of the device memory leaves room for other users (and for the display on
        # a desktop GPU); one buffer may not exceed the device's max allocation.
        return min(self.device_info.global_memory // 4, self.device_info.max_alloc)

    def _lanes_for(self, scrypt_n: int) -> int:
        # Huge N: fall back to one lane rather than fail when four labels do not fit.
        return self._lanes if 128 * scrypt_n * self._lanes <= self._budget() else 1

    def batch_size(self, scrypt_n: int) -> int:
        """Labels per kernel launch: each needs N*128 bytes of scratch on the device."""
        _check_n(scrypt_n)
        per_label = 128 * scrypt_n
        lanes = self._lanes_for(scrypt_n)
        items = self._budget() // (per_label * lanes)
        if items < 1:
            raise OpenCLFailed(
                self.device_info.id,
                f"scrypt N={scrypt_n} needs {per_label} bytes per label, more than the "
                f"{self._budget()} bytes this backend may use on the device",
            )
        return int(min(items, _MAX_ITEMS) * lanes)

    def close(self) -> None:
        """Release the device scratch buffer (it is re-created on the next call)."""
        if self._scratch is not None:
            self._scratch.release()
        self._scratch = None
        self._scratch_bytes = 0

    # --- plumbing -------------------------------------------------------------------------

    def _kernel(self, scrypt_n: int, name: str) -> tuple[Any, int]:
        lanes = self._lanes_for(scrypt_n)
        k = self._kernels.get((scrypt_n, name))
        if k is None:
            try:
                prog = _program(self._cl, self.device_info, self._ctx, scrypt_n, lanes)
                k = self._kernels[(scrypt_n, name)] = self._cl.Kernel(prog, name)
            except self._cl.Error as exc:
                raise OpenCLFailed(
                    self.device_info.id, f"building the kernel for N={scrypt_n} failed", exc
                ) from exc
        return k, lanes

    def _scratch_for(self, scrypt_n: int, labels: int) -> Any:
        need = 128 * scrypt_n * labels
        if self._scratch_bytes < need:
            self.close()
            self._scratch = self._cl.Buffer(self._ctx, self._cl.mem_flags.READ_WRITE, need)
            self._scratch_bytes = need
        return self._scratch

    def _const(self, data: bytes) -> Any:
        mf = self._cl.mem_flags
        return self._cl.Buffer(self._ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=data)

    def _run(self, what: str, fn: Any) -> Any:
        try:
            return fn()
        except self._cl.Error as exc:
            raise OpenCLFailed(self.device_info.id, what, exc) from exc
        except MemoryError as exc:
            raise OpenCLFailed(self.device_info.id, what, exc) from exc

    # --- labels ---------------------------------------------------------------------------

    def compute_labels(
        self, commitment: bytes, start: int, count: int, scrypt_n: int, full: bool
    ) -> np.ndarray:
        """Labels ``start .. start+count-1`` as (count, 16) uint8, or (count, 32) when full."""
        check_label_range(commitment, start, count)
        return self._labels(
            "labels", commitment, count, scrypt_n, full, lambda lo, n: np.uint64(start + lo)
        )

    def compute_labels_at(
        self, commitment: bytes, indices: Sequence[int] | np.ndarray, scrypt_n: int, full: bool
    ) -> np.ndarray:
        """Labels at arbitrary indices (verification samples), same shapes as compute_labels."""
        check_label_range(commitment, 0, 0)
        idx = np.ascontiguousarray(np.asarray(indices, dtype=np.uint64))
        return self._labels(
            "labels_at",
            commitment,
            len(idx),
            scrypt_n,
            full,
            lambda lo, n: self._const(idx[lo : lo + n].tobytes()),
        )

    def _labels(
        self,
        kernel_name: str,
        commitment: bytes,
        count: int,
        scrypt_n: int,
        full: bool,
        which: Callable[[int, int], Any],
    ) -> np.ndarray:
        # Shared by both label kernels: `which(lo, n)` is their second argument (the first
        # index, or a buffer of indices) for labels lo .. lo+n-1 of this call.
        _check_n(scrypt_n)
        words = 8 if full else 4
        out = np.empty((count, 4 * words), dtype=np.uint8)
        if count == 0:
            return out
        kernel, lanes = self._kernel(scrypt_n, kernel_name)
        step = min(self.batch_size(scrypt_n), count)

        def go() -> None:
            scratch = self._scratch_for(scrypt_n, -(-step // lanes) * lanes)
            com = self._const(commitment)
            dst = self._cl.Buffer(self._ctx, self._cl.mem_flags.WRITE_ONLY, step * 4 * words)
            for lo in range(0, count, step):
                n = min(step, count - lo)
                args = (com, which(lo, n), np.uint32(n), np.uint32(words), dst, scratch)
                kernel(self._queue, (-(-n // lanes),), self._local, *args)
                self._cl.enqueue_copy(self._queue, out[lo : lo + n], dst)
            self._queue.finish()

        self._run(f"computing {count} labels failed", go)
        return out

    # --- VRF nonce ------------------------------------------------------------------------

    def compute_labels_and_vrf(
        self, commitment: bytes, start: int, count: int, scrypt_n: int, difficulty: bytes
    ) -> tuple[np.ndarray, tuple[int, bytes] | None]:
        """(count, 16) labels and the smallest full output below ``difficulty`` among them
        (ties: lowest index) as ``(index, output)``, or None, from one launch per batch.

        Each work item reports at most one candidate (an offset, and the upper 16 bytes of
        its output on the device); the host copies back the 16-byte labels, one offset per
        work item, and the upper halves only for a launch that found a candidate."""
        _check_n(scrypt_n)
        check_label_range(commitment, start, count)
        check_32_bytes("VRF difficulty", difficulty)
        out = np.empty((count, 16), dtype=np.uint8)
        if count == 0:
            return out, None
        kernel, lanes = self._kernel(scrypt_n, "labels_vrf")
        step = min(self.batch_size(scrypt_n), count)
        items = -(-step // lanes)
        best: tuple[int, bytes] | None = None

        def go() -> None:
            nonlocal best
            mf = self._cl.mem_flags
            scratch = self._scratch_for(scrypt_n, items * lanes)
            com = self._const(commitment)
            dst = self._cl.Buffer(self._ctx, mf.WRITE_ONLY, step * 16)
            offset_buf = self._cl.Buffer(self._ctx, mf.WRITE_ONLY, items * 4)
            high_buf = self._cl.Buffer(self._ctx, mf.WRITE_ONLY, items * 16)
            offsets = np.empty(items, dtype=np.uint32)
            highs = np.empty((items, 16), dtype=np.uint8)
            for lo in range(0, count, step):
                n = min(step, count - lo)
                used = -(-n // lanes)
                # Later launches only need to beat the best so far; the kernel compares
                # big-endian words, whose order is the bytes' lexicographic order.
                target = best[1] if best is not None else difficulty
                target_words = np.frombuffer(target, dtype=">u4").astype(np.uint32)
                args = (com, np.uint64(start + lo), np.uint32(n))
                args += (self._const(target_words.tobytes()), dst, offset_buf, high_buf, scratch)
                kernel(self._queue, (used,), self._local, *args)
                self._cl.enqueue_copy(self._queue, out[lo : lo + n], dst)
                self._cl.enqueue_copy(self._queue, offsets, offset_buf)
                self._queue.finish()
                hits = np.flatnonzero(offsets[:used] != _NO_OFFSET)
                if len(hits) == 0:
                    continue
                self._cl.enqueue_copy(self._queue, highs, high_buf)
                self._queue.finish()
                rows = offsets[hits].astype(np.int64)
                full = np.concatenate([out[lo + rows], highs[hits]], axis=1)
                found = smallest_below(full, start + lo + rows.astype(np.uint64), target)
                if found is not None:
                    best = found

        self._run(f"computing {count} labels with the VRF scan failed", go)
        return out, best

    def find_vrf_nonce(
        self, commitment: bytes, start: int, count: int, scrypt_n: int, difficulty: bytes
    ) -> tuple[int, bytes] | None:
        """The index in ``start .. start+count-1`` whose full output is the smallest one below
        ``difficulty`` (ties: lowest index), with that output; None when none is below."""
        _check_n(scrypt_n)
        check_label_range(commitment, start, count)
        check_32_bytes("VRF difficulty", difficulty)
        if count == 0:
            return None
        kernel, lanes = self._kernel(scrypt_n, "vrf_scan")
        items = min(self.batch_size(scrypt_n), -(-count // _VRF_LABELS_PER_ITEM)) // lanes
        items = max(items, 1)
        best: tuple[int, bytes] | None = None

        def go() -> None:
            nonlocal best
            scratch = self._scratch_for(scrypt_n, items * lanes)
            com = self._const(commitment)
            index_buf = self._cl.Buffer(self._ctx, self._cl.mem_flags.WRITE_ONLY, items * 8)
            label_buf = self._cl.Buffer(self._ctx, self._cl.mem_flags.WRITE_ONLY, items * 32)
            indices = np.empty(items, dtype=np.uint64)
            labels = np.empty((items, 32), dtype=np.uint8)
            span = items * lanes * _VRF_LABELS_PER_ITEM
            for lo in range(0, count, span):
                n = min(span, count - lo)
                # Later spans only need to beat the best so far: the spec's running difficulty.
                target = best[1] if best is not None else difficulty
                # The kernel compares big-endian words: byte order equals lexicographic order.
                target_words = np.frombuffer(target, dtype=">u4").astype(np.uint32)
                kernel(
                    self._queue,
                    (items,),
                    self._local,
                    com,
                    np.uint64(start + lo),
                    np.uint64(n),
                    self._const(target_words.tobytes()),
                    index_buf,
                    label_buf,
                    scratch,
                )
                self._cl.enqueue_copy(self._queue, indices, index_buf)
                self._cl.enqueue_copy(self._queue, labels, label_buf)
                self._queue.finish()
                hits = np.flatnonzero(indices != _NO_CANDIDATE)
                for h in hits:
                    cand = (int(indices[h]), labels[h].tobytes())
                    if best is None or (cand[1], cand[0]) < (best[1], best[0]):
                        best = cand

        self._run(f"scanning {count} labels for the VRF nonce failed", go)
        return best
