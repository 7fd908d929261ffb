"""``mergetool post devices``: the OpenCL platforms and devices labels can run on."""

from __future__ import annotations

import click

from mergetool.cli._errors import MergetoolCommand
from mergetool.cli.post._options import echo_json

_NONE_FOUND = (
    "No OpenCL device found. Install an OpenCL runtime: `apt-get install pocl-opencl-icd` on "
    "Debian/Ubuntu (runs on the CPU), or your GPU vendor's driver."
)


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.1f} GiB"


@click.command(cls=MergetoolCommand)
@click.option("--json", "as_json", is_flag=True, help="Print the devices as JSON.")
def devices(as_json: bool) -> None:
    """List OpenCL devices; pass an ID to --device (like `postcli -printProviders`)."""
    # Imported here so that `mergetool --help` never loads numpy or pyopencl.
    from mergetool.post.backends.opencl import list_devices

    found = list_devices()
    if as_json:
        echo_json({"format": 1, "devices": [d.to_dict() for d in found]})
        return
    if not found:
        click.echo(_NONE_FOUND, err=True)
        return
    rows = [("ID", "PLATFORM", "DEVICE", "TYPE", "MEMORY", "UNITS")]
    rows += [
        (d.id, d.platform, d.name, d.type, _gib(d.global_memory), str(d.compute_units))
        for d in found
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
