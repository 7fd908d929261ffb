"""Errors of PoST data, parameters and proofs."""

from __future__ import annotations

from mergetool._exceptions._base import Cancelled, MergetoolError


class PostError(MergetoolError):
    """PoST data, parameters or proofs."""


class InvalidParameters(PostError):
    """A value given by the caller is out of range or inconsistent (bad usage: exit 2)."""

    exit_code = 2


class MetadataError(PostError):
    pass


class BackendUnavailable(PostError):
    pass


_OPENCL_RUNTIME_HINT = (
    "Install an OpenCL runtime: `apt-get install pocl-opencl-icd` on Debian/Ubuntu (runs on "
    "the CPU), or your GPU vendor's driver; `mergetool post devices` lists what is found."
)


class NoOpenCLDevice(BackendUnavailable):
    """No usable OpenCL device, or none with the requested id (``known`` lists the ids)."""

    def __init__(self, device: str | None, *, known: list[str] | None = None) -> None:
        if known:
            super().__init__(
                f"no OpenCL device {device!r}",
                hint=f"Known devices: {', '.join(known)} (see `mergetool post devices`).",
            )
            self.exit_code = 2  # a bad device value, like any other bad argument
            self.parameter = "device"
        else:
            super().__init__("no OpenCL platform or device found", hint=_OPENCL_RUNTIME_HINT)
        self.device = device
        self.known = known or []


class OpenCLFailed(BackendUnavailable):
    """The OpenCL runtime on ``device`` could not do ``what`` (``cause``: the runtime's error)."""

    def __init__(self, device: str, what: str, cause: BaseException | None = None) -> None:
        detail = f" ({cause})" if cause is not None else ""
        super().__init__(
            f"OpenCL device {device}: {what}{detail}",
            hint='Try a smaller scrypt N or another device (`device`), or `backend="numpy"`.',
        )
        self.device = device
        self.what = what


class ProvingFailed(PostError):
    pass


class K2powCancelled(Cancelled):
    """A k2pow stopped on request; ``solved`` holds the groups finished by then."""

    def __init__(self, solved: dict[int, int], total: int) -> None:
        super().__init__(f"k2pow cancelled with {len(solved)} of {total} nonce groups solved")
        self.solved = solved


class InvalidProof(PostError):
    """A proof the network would reject; ``reason`` says why, ``index`` which label."""

    def __init__(self, reason: str, *, index: int | None = None, detail: str = "") -> None:
        text = f"invalid proof: {reason}"
        if index is not None:
            text += f" (index {index})"
        if detail:
            text += f": {detail}"
        super().__init__(text)
        self.reason = reason
        self.index = index
        self.detail = detail

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "reason": self.reason, "index": self.index}


class DataVerificationFailed(PostError):
    """Sampled labels on disk differ from recomputed ones; ``report`` has the details."""

    def __init__(self, report: dict[str, object]) -> None:
        files = [f for f in report["files"] if f["bad"]]  # type: ignore[attr-defined]
        where = "; ".join(
            f"{f['file']}: {f['bad']} bad"
            + (f" ({f['problem']})" if f.get("problem") else "")
            + (
                ", first at byte offsets " + ", ".join(str(o) for o in f["first_bad_offsets"])
                if f["first_bad_offsets"] and f.get("problem") != "missing"
                else ""
            )
            for f in files
        )
        if report["bad"] == report["checked"]:
            hint = (
                "Every sampled label is wrong: first check that `scrypt_n` (or `preset`) is the "
                "one the data was initialized with."
            )
        else:
            hint = (
                "To repair: move the damaged files aside (keep them until the new ones verify) "
                "and re-run `post init`; it rewrites every file from the first missing one on."
            )
        super().__init__(
            f"{report['bad']} of {report['checked']} sampled labels are wrong ({where})", hint=hint
        )
        self.report = report

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "report": self.report}
