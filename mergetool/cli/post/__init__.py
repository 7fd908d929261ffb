"""``mergetool post``: initialise, prove, verify and profile PoST data (post-rs compatible).

Only click is imported at module level; the PoST engine (numpy, blake3, RandomX,
cryptography) is imported inside each command so ``mergetool --help`` stays fast.
"""

from __future__ import annotations

import click

from mergetool.cli._errors import traceback_option
from mergetool.cli._group import LazyGroup

# name -> "module:attribute", registered like the top-level commands (mergetool/cli/main.py)
_COMMANDS = {
    "devices": "mergetool.cli.post.devices:devices",
    "init": "mergetool.cli.post.init:init",
    "profile": "mergetool.cli.post.prove:profile",
    "prove": "mergetool.cli.post.prove:prove",
    "verify": "mergetool.cli.post.verify:verify",
    "verify-data": "mergetool.cli.post.verify:verify_data",
}


@click.group(cls=LazyGroup, commands=_COMMANDS)
@traceback_option
def post(traceback: bool) -> None:
    """Initialise, prove and verify PoST data (bit-compatible with post-rs / postcli)."""
