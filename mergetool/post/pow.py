"""k2pow: the RandomX proof of work each nonce group must carry."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import randomx

from mergetool._exceptions import InvalidParameters, ProvingFailed

RANDOMX_KEY = b"spacemesh-randomx-cache-key"
MAX_POW = (1 << 56) - 1
MAX_GROUP = 255

#: Hashes between two reports of ``find_pow``'s ``on_hashes`` (a light-mode hash takes ~2 ms).
_REPORT_EVERY = 64

_vms: dict[tuple[bytes, bool, int], Any] = {}
# Per key and mode: (flags, cache, dataset). Shared by every VM of that key: the light
# cache is 256 MiB and the fast dataset 2 GiB, built once, not once per worker thread.
_machines: dict[tuple[bytes, bool], tuple[int, Any, Any]] = {}
_vms_lock = threading.Lock()
# randomx_hash has a VM of its own (never one of find_pow's slots) and a lock, so a check
# from any thread is safe beside running searches and other checks.
_HASH_SLOT = -1
_hash_lock = threading.Lock()


#: RandomX memory in large pages (``--randomx-large-pages``), for machines set up for them.
_large_pages = [False]


def use_large_pages(enabled: bool) -> None:
    """Allocate RandomX caches and datasets built from now on in large pages (when the system
    has none free, the normal pages are used instead, as without the flag)."""
    _large_pages[0] = enabled


def _machine(key: bytes, *, fast: bool) -> tuple[int, Any, Any]:
    flags = randomx.get_flags() | (randomx.FLAG_FULL_MEM if fast else 0)
    cache = None
    if _large_pages[0]:
        try:
            cache = randomx.Cache(flags | randomx.FLAG_LARGE_PAGES, key)
            flags |= randomx.FLAG_LARGE_PAGES
        except (MemoryError, RuntimeError, OSError):
            pass  # no large pages to be had: normal ones
    if cache is None:
        cache = randomx.Cache(flags, key)
    dataset = None
    if fast:
        try:
            try:
                dataset = randomx.Dataset(flags)
            except (MemoryError, RuntimeError, OSError):
                if not flags & randomx.FLAG_LARGE_PAGES:
                    raise
                flags &= ~randomx.FLAG_LARGE_PAGES
                dataset = randomx.Dataset(flags)
        except MemoryError as exc:
            raise ProvingFailed(
                "cannot allocate RandomX's 2 GiB dataset for `randomx_fast=True`",
                hint="Use `randomx_fast=False` (slower k2pow, 256 MiB).",
                parameter="randomx_fast",
            ) from exc
        dataset.init_parallel(cache, threads=os.cpu_count() or 1)
    return flags, cache, dataset


def randomx_vm(key: bytes = RANDOMX_KEY, *, fast: bool = False, slot: int = 0) -> Any:
    """A cached RandomX VM for ``key`` (light: 256 MiB cache; fast: 2 GiB dataset).

    VMs are not thread safe, so each worker thread asks for its own ``slot``; all slots
    share one cache (and, in fast mode, one dataset).
    """
    with _vms_lock:
        vm = _vms.get((key, fast, slot))
        if vm is None:
            if (key, fast) not in _machines:
                _machines[(key, fast)] = _machine(key, fast=fast)
            flags, cache, dataset = _machines[(key, fast)]
            vm = randomx.VM(flags, cache, dataset)
            _vms[(key, fast, slot)] = vm
        return vm


def randomx_hash(data: bytes, *, key: bytes = RANDOMX_KEY, fast: bool = False) -> bytes:
    """The standard RandomX hash of ``data`` under ``key``; safe to call from any thread."""
    vm = randomx_vm(key, fast=fast, slot=_HASH_SLOT)
    with _hash_lock:
        return bytes(vm.calculate_hash(data))


def pow_input(pow_value: int, group: int, challenge: bytes, node_id: bytes) -> bytes:
    """The 48 RandomX input bytes: ``u64le(pow)[0:7] || u8(group) || challenge[0:8] || node_id``."""
    if not 0 <= group <= MAX_GROUP:
        raise InvalidParameters(f"nonce group {group} is above {MAX_GROUP}")
    return pow_value.to_bytes(8, "little")[:7] + bytes([group]) + challenge[:8] + node_id


def pow_is_valid(
    pow_value: int,
    group: int,
    challenge: bytes,
    node_id: bytes,
    target: bytes,
    *,
    fast: bool = False,
) -> bool:
    """Whether ``pow_value`` solves k2pow for ``group`` (hash < target, bytewise)."""
    if not 0 <= pow_value <= MAX_POW or not 0 <= group <= MAX_GROUP:
        return False
    return randomx_hash(pow_input(pow_value, group, challenge, node_id), fast=fast) < target


def find_pow(
    group: int,
    challenge: bytes,
    node_id: bytes,
    target: bytes,
    *,
    threads: int = 1,
    fast: bool = False,
    cancelled: Callable[[], bool] = lambda: False,
    first_slot: int = 0,
    on_hashes: Callable[[int], None] | None = None,
) -> int:
    """The smallest pow solving k2pow for ``group``; the same for any number of threads.

    Searches running at the same time need VMs of their own: give each a ``first_slot``
    range of ``threads`` slots that no other search uses. ``on_hashes(n)`` is told the hashes
    tried so far, every few dozen hashes and at the end; always from the calling thread.
    """
    if not 0 <= group <= MAX_GROUP:
        raise ProvingFailed(f"nonce group {group} is above {MAX_GROUP}: no valid k2pow exists")
    threads = max(1, threads)
    best = [MAX_POW + 1]
    tried = [0] * threads
    lock = threading.Lock()
    report = on_hashes if on_hashes is not None else (lambda n: None)

    def worker(slot: int) -> None:
        vm = randomx_vm(RANDOMX_KEY, fast=fast, slot=first_slot + slot)
        # Each thread walks its own stride upwards and stops only past the best solution so
        # far, so every smaller candidate has been tried: the minimum does not depend on T.
        for candidate in range(slot, MAX_POW + 1, threads):
            if candidate > best[0] or cancelled():
                return
            tried[slot] += 1
            if threads == 1 and tried[0] % _REPORT_EVERY == 0:
                report(tried[0])
            if bytes(vm.calculate_hash(pow_input(candidate, group, challenge, node_id))) < target:
                with lock:
                    best[0] = min(best[0], candidate)
                return

    if threads == 1:
        worker(0)
    else:
        pool = [threading.Thread(target=worker, args=(s,), daemon=True) for s in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            while t.is_alive():  # woken a few times a second: for reports, and for signals
                t.join(0.25)
                report(sum(tried))
    report(sum(tried))
    if best[0] > MAX_POW:
        raise ProvingFailed(f"no k2pow found for nonce group {group}")
    return best[0]


@dataclass(frozen=True)
class PowProgress:
    """How far the k2pow of one pass has got: groups done of total, hashes tried, seconds."""

    groups_done: int
    groups_total: int
    hashes: int
    seconds: float

    @property
    def hashes_per_s(self) -> float:
        return self.hashes / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, object]:
        """The ``k2pow`` entry of the operator API's ``/status`` while k2pow runs."""
        return {
            "groups_done": self.groups_done,
            "groups_total": self.groups_total,
            "hashes": self.hashes,
            "hashes_per_s": round(self.hashes_per_s, 1),
        }
