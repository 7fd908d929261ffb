"""Regenerate the stubs in ``mergetool/nodeapi/proto/`` from the ``.proto`` files beside them.

Usage: ``python scripts/gen_proto.py [OUT_DIR]`` (default: beside the .proto files). Needs the
``test`` extra (grpcio-tools). The stubs import each other through the package path, so each
generated ``*_pb2_grpc.py`` is rewritten to import ``mergetool.nodeapi.proto.<name>_pb2``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

PROTO_DIR = Path(__file__).resolve().parents[1] / "mergetool" / "nodeapi" / "proto"
#: post.proto: the PoST-service protocol; events.proto: v1 admin/smesher (private listener);
#: v2alpha1.proto: the public listener's lists, status and network info
PROTOS = ("post", "events", "v2alpha1")


def generate(out_dir: Path) -> None:
    """Write ``<name>_pb2.py`` and ``<name>_pb2_grpc.py`` for each of PROTOS into ``out_dir``."""
    import grpc_tools
    from grpc_tools import protoc

    includes = Path(grpc_tools.__file__).parent / "_proto"  # google/protobuf/*.proto
    with tempfile.TemporaryDirectory() as tmp:
        for name in PROTOS:
            status = protoc.main(
                ["protoc", f"-I{PROTO_DIR}", f"-I{includes}", f"--python_out={tmp}",
                 f"--grpc_python_out={tmp}", str(PROTO_DIR / f"{name}.proto")]
            )  # fmt: skip
            if status != 0:
                raise SystemExit(f"protoc failed on {name}.proto with status {status}")
            for out in (f"{name}_pb2.py", f"{name}_pb2_grpc.py"):
                text = (Path(tmp) / out).read_text()
                text = text.replace(
                    f"import {name}_pb2 as {name}__pb2",
                    f"from mergetool.nodeapi.proto import {name}_pb2 as {name}__pb2",
                )
                (out_dir / out).write_text(text)


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else PROTO_DIR)
