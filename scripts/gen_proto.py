"""Regenerate ``mergetool/nodeapi/proto/post_pb2.py`` and ``post_pb2_grpc.py`` from ``post.proto``.

Usage: ``python scripts/gen_proto.py [OUT_DIR]`` (default: beside the .proto). Needs the
``test`` extra (grpcio-tools). The stubs import each other through the package path, so the
generated ``post_pb2_grpc.py`` is rewritten to import ``mergetool.nodeapi.proto.post_pb2``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parents[1] / "mergetool" / "nodeapi" / "proto"
OUTPUTS = ("post_pb2.py", "post_pb2_grpc.py")


def generate(out_dir: Path) -> None:
    """Write the two stub modules for ``post.proto`` into ``out_dir``."""
    from grpc_tools import protoc

    with tempfile.TemporaryDirectory() as tmp:
        status = protoc.main(
            ["protoc", f"-I{PROTO_DIR}", f"--python_out={tmp}", f"--grpc_python_out={tmp}",
             str(PROTO_DIR / "post.proto")]
        )  # fmt: skip
        if status != 0:
            raise SystemExit(f"protoc failed with status {status}")
        for name in OUTPUTS:
            text = (Path(tmp) / name).read_text()
            text = text.replace(
                "import post_pb2 as post__pb2",
                "from mergetool.nodeapi.proto import post_pb2 as post__pb2",
            )
            (out_dir / name).write_text(text)


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else PROTO_DIR)
