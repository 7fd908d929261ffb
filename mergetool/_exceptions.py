"""The one exception hierarchy of mergetool.

Every error the library raises on purpose derives from :class:`MergetoolError`; each class
carries the structured fields a caller needs and the process exit code the CLI uses::

    MergetoolError (exit 1)
    ├── UsageProblem (exit 2)                  bad arguments found after click parsed them
    ├── NodeDataError                          something wrong with a node data folder
    │   ├── NotANodeFolder                     missing folder / not a directory
    │   ├── InvalidKeyFile                     a *.key file the node would reject
    │   ├── DuplicateIdentity                  one public key under two file names
    │   ├── SupervisedNode                     identities/local.key present
    │   ├── ForeignOwner                       files written there could not keep its owner
    │   ├── FolderNotWritable                  we may not create files in a folder
    │   ├── DiskFull                           a write failed for lack of space (or file size)
    │   ├── DatabaseError                      SQLite failed to open/read/write
    │   │   ├── DatabaseInUse                  a running node holds the database
    │   │   └── SchemaDrift                    schema text differs from the node's
    │   └── UnsupportedVersion                 user_version too old / too new / unknown
    ├── MergeRefused                           a check failed before anything was written
    │   └── NameCollision, RowsAlreadyPresent, VersionMismatch, PostDataMismatch
    ├── MergeFailed                            writing failed; the target was left unchanged
    ├── RestoreError                           a backup could not be put back
    ├── FolderLocked                           another process holds a folder's lock
    ├── ServeError                             `serve`: a data folder or the node refused
    ├── InvalidInputFile                       a file for `check` is not what it should be
    ├── Unreachable                            a node or PoST service did not answer (status)
    ├── Cancelled (K2powCancelled)             work stopped on request (a stop, a new challenge)
    └── PostError                              PoST data, parameters, proofs
        ├── InvalidParameters (exit 2)       a bad argument value
        ├── MetadataError
        ├── BackendUnavailable
        │   ├── NoOpenCLDevice                 no OpenCL platform/device, or an unknown device
        │   └── OpenCLFailed                   the OpenCL runtime failed (build, memory, launch)
        ├── ProvingFailed (RemoteK2powFailed: a k2pow-service failed, refused or lied)
        ├── InvalidProof (exit 1, carries reason/index)
        └── DataVerificationFailed (exit 1, carries the per-file report)

Third-party errors (sqlite3, SQLAlchemy, OSError) are translated where they are met with
``raise SomeError(...) from exc``; the CLI maps this tree to messages in one place.

The library speaks in parameters, not command-line flags: a message or hint names a Python
parameter in backticks (`` `from_file` ``, `` `backend="numpy"` ``), ``parameter`` holds the
one at fault, and the CLI's error boundary shows each as its flag (``--from-file``).
"""

from __future__ import annotations

from pathlib import Path


class MergetoolError(Exception):
    """Root of every error mergetool raises on purpose."""

    exit_code: int = 1

    def __init__(
        self, message: str, *, hint: str | None = None, parameter: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        #: The Python name of the parameter whose value is at fault, when one is.
        self.parameter = parameter

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n{self.hint}"
        return self.message

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly description used by ``--json`` error output."""
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint}


class UsageProblem(MergetoolError):
    """Arguments that parse but make no sense together."""

    exit_code = 2


# --- node data ------------------------------------------------------------------------------


class NodeDataError(MergetoolError):
    """Something is wrong with a node data folder."""


class NotANodeFolder(NodeDataError):
    def __init__(self, path: Path, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: {reason}", hint=hint)
        self.path = path
        self.reason = reason


class InvalidKeyFile(NodeDataError):
    """A key file the node would refuse to load."""

    def __init__(self, path: Path, reason: str) -> None:
        if "symbolic link" in reason:
            hint = "Put the key file itself in identities/: key files are never read through links."
        elif "cannot read" in reason or "regular file" in reason:
            hint = None
        else:
            hint = "A key file holds exactly 128 hex characters (seed + public key), nothing else."
        super().__init__(f"not a valid key file {path}: {reason}", hint=hint)
        self.path = path
        self.reason = reason


class DuplicateIdentity(NodeDataError):
    """The same public key under two file names: the node refuses it, or it equivocates."""

    def __init__(self, first: Path, second: Path, node_id: str) -> None:
        super().__init__(
            f"{first} and {second} hold the same identity {node_id} (the node refuses to "
            'start: "duplicate key found in identity files")',
            hint="Running one identity twice is equivocation and gets it banned for good; "
            "keep exactly one of these files.",
        )
        self.first = first
        self.second = second
        self.node_id = node_id


class SupervisedNode(NodeDataError):
    def __init__(self, key_path: Path, side: str, *, adoptable: bool = False) -> None:
        hint = (
            "Convert it to remote smeshing first: rename local.key to a unique name ending in .key."
        )
        if adoptable:
            hint += " Or pass `adopt_supervised=True` to install it as <node id>.key in the target."
        super().__init__(
            f"{side} {key_path.parent.parent} appears to be a supervised node ({key_path} exists)",
            hint=hint,
        )
        self.path = key_path
        self.side = side


class ForeignOwner(NodeDataError):
    """``folder`` belongs to ``uid``/``gid``, and we (not root) cannot give new files to them."""

    def __init__(self, folder: Path, uid: int, gid: int, reason: str) -> None:
        self.folder, self.uid, self.gid = folder, uid, gid
        super().__init__(
            f"{folder}: {reason}; files written there would not belong to the node's user "
            "and the node could not read them",
            hint="Nothing was changed. Run mergetool as the folder's owner (e.g. "
            f"sudo -u '#{uid}' ...) or as root, which gives new files the folder's owner.",
        )


class FolderNotWritable(NodeDataError):
    """We may not create files in ``folder`` (permissions or a read-only mount)."""

    def __init__(self, folder: Path, message: str, *, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.folder = folder


class DiskFull(NodeDataError):
    """A write in ``folder`` failed: the disk (or the file size allowed us) is full."""

    def __init__(self, folder: Path, message: str, *, hint: str, free: int | None) -> None:
        super().__init__(message, hint=hint)
        self.folder, self.free_bytes = folder, free


class DatabaseError(NodeDataError):
    def __init__(self, path: Path, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: {reason}", hint=hint)
        self.path = path
        self.reason = reason


class DatabaseInUse(DatabaseError):
    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(
            path,
            f"the database is in use ({detail})",
            hint="Stop the node (and any other program using it) first, then try again.",
        )


class SchemaDrift(DatabaseError):
    def __init__(self, path: Path, version: int, diff: str) -> None:
        super().__init__(
            path,
            f"schema differs from what the node expects at version {version}",
            hint=f"{diff}\nThe node would refuse to start on it, and a merge must not write "
            "into it: restore the database from a backup (mergetool restore, if merge-nodes "
            "made one) or let the node release that wrote it repair it. Nothing was changed.",
        )
        self.version = version
        self.diff = diff


class UnsupportedVersion(NodeDataError):
    def __init__(self, path: Path, version: int, reason: str, *, hint: str | None = None):
        super().__init__(f"{path}: {reason} (user_version {version})", hint=hint)
        self.path = path
        self.version = version
        self.reason = reason


# --- merge ----------------------------------------------------------------------------------


class MergeRefused(MergetoolError):
    """A check failed; nothing was written."""


class NameCollision(MergeRefused):
    def __init__(self, names: list[str], target: Path, *, hint: str | None = None) -> None:
        listed = ", ".join(names)
        what = (
            f"identity file {listed} already exists"
            if len(names) == 1
            else (f"identity files {listed} already exist")
        )
        super().__init__(
            f"{what} in {target}",
            hint=hint
            or "Rename the key file(s) in the source (keeping the .key extension) and retry.",
        )
        self.names = names


class RowsAlreadyPresent(MergeRefused):
    pass


class VersionMismatch(MergeRefused):
    pass


class PostDataMismatch(MergeRefused):
    pass


class MergeFailed(MergetoolError):
    """Writing failed part-way; the target was rolled back to its previous state."""


class RestoreError(MergetoolError):
    pass


class FolderLocked(MergetoolError):
    """Another process holds ``folder``'s lock (``pid``: the holder, when it wrote one)."""

    def __init__(self, folder: Path, pid: int | None) -> None:
        holder = f"process {pid}" if pid is not None else "another process"
        super().__init__(
            f"{folder} is locked by {holder}",
            hint="Only one mergetool process may work on a folder at a time: wait for that "
            "one to finish or stop it, then try again.",
        )
        self.folder = folder
        self.pid = pid

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "folder": str(self.folder), "pid": self.pid}


class ServeError(MergetoolError):
    """``serve`` cannot go on: a data folder is unfit, or the node cannot be reached."""


# --- check and status ---------------------------------------------------------------------------


class InvalidInputFile(MergetoolError):
    """A file given to ``check`` (the node config, an ``--against`` report) is not what it
    should be; ``line``/``column`` say where when known, ``code`` is the finding code."""

    def __init__(
        self,
        path: Path,
        reason: str,
        *,
        line: int | None = None,
        column: int | None = None,
        code: str = "invalid_input",
    ) -> None:
        where = f"line {line} column {column}: " if line else ""
        super().__init__(f"{path}: {where}{reason}")
        self.path = path
        self.reason = reason
        self.line = line
        self.column = column
        self.code = code


class Unreachable(MergetoolError):
    """A node or PoST service at ``address`` did not answer as it should (``reason`` says how)."""

    def __init__(self, address: str, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"{address}: {reason}", hint=hint)
        self.address = address
        self.reason = reason

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "address": self.address}


# --- PoST -----------------------------------------------------------------------------------


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


class RemoteK2powFailed(ProvingFailed):
    """A k2pow-service at ``url`` answered ``status`` (None: no answer) with ``body``."""

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        body: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(f"remote k2pow {url}: {reason}", hint=hint)
        self.url = url
        self.reason = reason
        self.status = status
        self.body = body

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "url": self.url, "status": self.status, "body": self.body}


class Cancelled(MergetoolError):
    """Work stopped on request, never a failure; ``K2powCancelled.solved``: the groups done."""


class K2powCancelled(Cancelled):
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
