"""The one exception hierarchy of mergetool, one module per domain.

Every error the library raises on purpose derives from :class:`MergetoolError`; each class
carries the structured fields a caller needs and the process exit code the CLI uses::

    MergetoolError (exit 1)                    _base
    ├── UsageProblem (exit 2)                  bad arguments found after click parsed them
    ├── Cancelled                              work stopped on request (a stop, a new challenge)
    │   └── K2powCancelled                     _post: a k2pow stopped; carries the groups solved
    ├── NodeDataError                          _node: something wrong with a node data folder
    │   ├── NotANodeFolder                     missing folder / not a folder
    │   ├── InvalidKeyFile                     a *.key file the node would reject
    │   ├── DuplicateIdentity                  one public key under two file names
    │   ├── SupervisedNode                     identities/local.key present
    │   ├── DatabaseError                      SQLite failed to open/read/write
    │   │   ├── DatabaseInUse                  a running node holds the database
    │   │   └── SchemaDrift                    schema text differs from the node's
    │   ├── UnsupportedVersion                 user_version too old / too new / unknown
    │   ├── ForeignOwner                       _files: new files there could not keep its owner
    │   ├── FolderNotWritable                  _files: we may not create files in a folder
    │   └── DiskFull                           _files: a write failed for lack of space
    ├── FolderLocked                           _files: another process holds a folder's lock
    ├── NotRegularFile (also an OSError)       _files: a FIFO, device, ... where a file must be
    ├── InvalidInputFile                       _files: a file for `check` is not what it should be
    ├── MergeRefused                           _merge: a check failed before anything was written
    │   └── NameCollision, RowsAlreadyPresent, VersionMismatch, PostDataMismatch
    ├── MergeFailed                            _merge: writing failed; the target left unchanged
    ├── RestoreError                           _merge: a backup could not be put back
    ├── ServeError                             _service: a data folder or the node refused
    ├── Unreachable                            _service: a node or PoST service did not answer
    │   └── NodeCallFailed                     (nodeapi/calls.py) a gRPC call, its code and listener
    └── PostError                              _post: PoST data, parameters, proofs
        ├── InvalidParameters (exit 2)         a bad argument value
        ├── MetadataError
        ├── BackendUnavailable
        │   ├── NoOpenCLDevice                 no OpenCL platform/device, or an unknown device
        │   └── OpenCLFailed                   the OpenCL runtime failed (build, memory, launch)
        ├── ProvingFailed
        │   └── RemoteK2powFailed              _service: a k2pow-service failed, refused or lied
        │       └── RemoteK2powUnavailable     (k2pow/client.py) no answer, a timeout or a 5xx
        ├── InvalidProof (carries reason/index)
        └── DataVerificationFailed (carries the per-file report)

Import every class from here (``from mergetool._exceptions import DiskFull``); the domain
modules are private. Third-party errors (sqlite3, SQLAlchemy, OSError) are translated where
they are met with ``raise SomeError(...) from exc``; the CLI maps this tree to messages in one
place (mergetool/cli/_errors.py).

The library speaks in parameters, not command-line flags: a message or hint names a Python
parameter in backticks (`` `from_file` ``, `` `backend="numpy"` ``), ``parameter`` holds the
one at fault, and the CLI's error boundary shows each as its flag (``--from-file``).
"""

from __future__ import annotations

from mergetool._exceptions._base import Cancelled, MergetoolError, UsageProblem
from mergetool._exceptions._files import (
    SPACE_NEEDED,
    DiskFull,
    FolderLocked,
    FolderNotWritable,
    ForeignOwner,
    InvalidInputFile,
    NotRegularFile,
)
from mergetool._exceptions._merge import (
    MergeFailed,
    MergeRefused,
    NameCollision,
    PostDataMismatch,
    RestoreError,
    RowsAlreadyPresent,
    VersionMismatch,
)
from mergetool._exceptions._node import (
    DatabaseError,
    DatabaseInUse,
    DuplicateIdentity,
    InvalidKeyFile,
    NodeDataError,
    NotANodeFolder,
    SchemaDrift,
    SupervisedNode,
    UnsupportedVersion,
)
from mergetool._exceptions._post import (
    BackendUnavailable,
    DataVerificationFailed,
    InvalidParameters,
    InvalidProof,
    K2powCancelled,
    MetadataError,
    NoOpenCLDevice,
    OpenCLFailed,
    PostError,
    ProvingFailed,
)
from mergetool._exceptions._service import RemoteK2powFailed, ServeError, Unreachable

__all__ = [
    "SPACE_NEEDED",
    "BackendUnavailable",
    "DataVerificationFailed",
    "DatabaseError",
    "DatabaseInUse",
    "Cancelled",
    "DiskFull",
    "DuplicateIdentity",
    "FolderLocked",
    "FolderNotWritable",
    "ForeignOwner",
    "InvalidInputFile",
    "InvalidKeyFile",
    "InvalidParameters",
    "InvalidProof",
    "K2powCancelled",
    "MergeFailed",
    "MergeRefused",
    "MergetoolError",
    "MetadataError",
    "NameCollision",
    "NoOpenCLDevice",
    "NodeDataError",
    "NotANodeFolder",
    "NotRegularFile",
    "OpenCLFailed",
    "PostDataMismatch",
    "PostError",
    "ProvingFailed",
    "RemoteK2powFailed",
    "RestoreError",
    "RowsAlreadyPresent",
    "SchemaDrift",
    "ServeError",
    "SupervisedNode",
    "Unreachable",
    "UnsupportedVersion",
    "UsageProblem",
    "VersionMismatch",
]
