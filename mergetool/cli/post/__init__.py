"""``mergetool post``: initialise, prove, verify and profile PoST data (post-rs compatible).

Only click is imported at module level; the PoST engine (numpy, blake3, RandomX,
cryptography) is imported inside each command so ``mergetool --help`` stays fast.
"""

from __future__ import annotations

import click

from mergetool.cli._errors import MergetoolGroup, traceback_option
from mergetool.cli.post.devices import devices
from mergetool.cli.post.init import init
from mergetool.cli.post.prove import profile, prove
from mergetool.cli.post.verify import verify, verify_data


@click.group(cls=MergetoolGroup)
@traceback_option
def post(traceback: bool) -> None:
    """Initialise, prove and verify PoST data (bit-compatible with post-rs / postcli)."""


for _command in (devices, init, profile, prove, verify, verify_data):
    post.add_command(_command)
