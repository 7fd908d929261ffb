"""What a PoST service's operator API says about one identity (``mergetool serve``'s
``/identities`` or a post-rs service's ``/status``), shared by ``status`` and ``watch``."""

from __future__ import annotations

from dataclasses import dataclass

#: What a service's identity is doing: idle, proving (k2pow, reading, …) or done (not fetched).
SERVICE_KINDS = ("idle", "proving", "done")


@dataclass(frozen=True)
class ServiceState:
    """What a PoST service's operator API says about one identity."""

    #: the operator URL that answered
    source: str
    kind: str
    #: whether the service's stream to the node is up; None when the API does not say (post-rs)
    connected: bool | None = None
    #: while proving: "k2pow", "waiting-for-disk", "reading", then (the pass found a proof)
    #: "verifying" and "saving"; None when unknown
    phase: str | None = None
    bytes_read: int | None = None
    bytes_total: int | None = None
    k2pow_groups: tuple[int, int] | None = None
    #: the proving pass (1, 2, … when the first nonces found too few labels; serve only)
    pass_number: int | None = None
    #: bytes read per second, and the seconds left when this was read (serve only, reading)
    rate_bytes_s: float | None = None
    eta_s: float | None = None
    #: what the API calls the identity (mergetool serve), or None
    name: str | None = None
    #: why the last proving run failed (mergetool serve), shown instead of a bare "idle"
    last_error: str | None = None
    #: what fails right now while it proves (e.g. the remote k2pow), or None
    problem: str | None = None

    def describe(self) -> str:
        """``idle``, ``k2pow``, ``reading 40 %``, ``done, not fetched``, ``not connected``…"""
        if self.kind == "idle":
            text = (
                "idle" if not self.last_error else f"last attempt failed: {_short(self.last_error)}"
            )
        elif self.kind == "done":
            text = "done, not fetched"
        elif self.phase == "k2pow":
            text = "k2pow"
            if self.k2pow_groups and self.k2pow_groups[1]:
                text += f" ({self.k2pow_groups[0]}/{self.k2pow_groups[1]} groups)"
        elif self.phase == "reading":
            if self.bytes_total:
                text = f"reading {100 * (self.bytes_read or 0) / self.bytes_total:.0f} %"
            else:
                text = f"reading, {_size(self.bytes_read or 0)} read"
        elif self.phase == "waiting-for-disk":
            text = "waiting for disk"
        elif self.phase in ("verifying", "saving"):
            text = f"{self.phase} the proof"
        else:
            text = "proving"
        if self.kind == "proving" and self.problem:
            text += f"; {_short(self.problem)}"
        if self.connected is False:
            return "not connected" if text == "idle" else f"not connected, {text}"
        return text


def _short(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    raise AssertionError("unreachable")
