"""The one exception tree: every exception class mergetool defines derives from MergetoolError."""

from __future__ import annotations

import errno
import importlib
import inspect
from pathlib import Path

import pytest

from mergetool import _exceptions
from mergetool._exceptions import DiskFull, MergetoolError, NotRegularFile
from tests.test_structure import MODULES


def _defined_exceptions() -> list[type[Exception]]:
    """Every Exception subclass a mergetool module defines (an interruption such as a
    KeyboardInterrupt subclass is no error, and not counted)."""
    found = []
    for name in sorted(MODULES):
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Exception) and cls.__module__ == name:
                found.append(cls)
    return found


def test_every_exception_class_derives_from_mergetool_error() -> None:
    strays = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _defined_exceptions()
        if not issubclass(cls, MergetoolError)
    ]
    assert strays == []


def test_the_package_re_exports_every_class_it_defines() -> None:
    defined = {
        cls.__name__
        for cls in _defined_exceptions()
        if cls.__module__.startswith("mergetool._exceptions.")
    }
    assert defined <= set(_exceptions.__all__)
    assert all(name in _exceptions.__doc__ for name in defined)


def test_not_regular_file_is_also_the_os_error_it_was() -> None:
    exc = NotRegularFile(Path("/run/fifo"), "a FIFO (named pipe)")
    assert isinstance(exc, OSError)
    assert exc.errno == errno.EINVAL
    assert exc.strerror == "it is a FIFO (named pipe), not a regular file"
    assert exc.filename == "/run/fifo"
    assert str(exc) == "/run/fifo: it is a FIFO (named pipe), not a regular file"


@pytest.mark.parametrize(
    ("operation", "needs"),
    [
        (None, ""),
        ("merge", " (the merge needs about the size of the source's database and a backup"),
        ("restore", " (the restore needs about the size of the backup's database"),
    ],
)
def test_disk_full_tells_what_the_operation_needs(operation: str | None, needs: str) -> None:
    exc = DiskFull(Path("/data"), "No space left on device", free=0, operation=operation)
    assert exc.message == (
        "/data: the disk is full, or we may not write more there (No space left on device)"
        "; 0.0 MiB free there"
    )
    assert exc.hint.startswith(f"Free some space in /data{needs}")
    assert exc.hint.endswith(", then run the same command again.")
    assert (
        exc.during("restore").hint
        == DiskFull(Path("/data"), "No space left on device", free=0, operation="restore").hint
    )
