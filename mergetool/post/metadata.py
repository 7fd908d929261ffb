"""The PoST engine's name for the metadata file format, defined in mergetool/postdata/.

Kept so ``mergetool.post.metadata`` goes on working; the format itself lives below the
engine, where ``merge`` and ``check`` read it without importing ``post``.
"""

from __future__ import annotations

from mergetool.postdata.metadata import (
    IDENTITY_FILE,
    LABEL_SIZE,
    MAX_FILES,
    METADATA_FILE,
    PostMetadata,
    data_file_name,
    layout_problem,
    read_metadata,
    write_metadata,
)

__all__ = [
    "IDENTITY_FILE",
    "LABEL_SIZE",
    "MAX_FILES",
    "METADATA_FILE",
    "PostMetadata",
    "data_file_name",
    "layout_problem",
    "read_metadata",
    "write_metadata",
]
