"""PoST (proof of space-time) in numpy, bit-compatible with post-rs.

Names are re-exported lazily so importing :mod:`mergetool.post` (and ``mergetool --help``)
does not pull in numpy, blake3, RandomX or cryptography.
"""

from __future__ import annotations

from mergetool._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "Difficulty": "mergetool.post.difficulty",
    "FileReport": "mergetool.post.pos_verification",
    "InitPlan": "mergetool.post.initialize",
    "InitResult": "mergetool.post.initialize",
    "PRESETS": "mergetool.post.params",
    "PostMetadata": "mergetool.postdata.metadata",
    "PostParams": "mergetool.post.params",
    "Proof": "mergetool.post.proof",
    "ProveReporter": "mergetool.post.progress",
    "VerifyDataReport": "mergetool.post.pos_verification",
    "VerifyMode": "mergetool.post.verification",
    "commitment": "mergetool.post.labels",
    "compute_labels": "mergetool.post.labels",
    "execute_init": "mergetool.post.initialize",
    "generate_proof": "mergetool.post.prove",
    "get_backend": "mergetool.post.backends",
    "initialize": "mergetool.post.initialize",
    "pack_indices": "mergetool.post.compression",
    "plan_init": "mergetool.post.initialize",
    "prove_folder": "mergetool.post.prove",
    "proving_difficulty": "mergetool.post.difficulty",
    "read_metadata": "mergetool.postdata.metadata",
    "scrypt_jane": "mergetool.post.scrypt",
    "unpack_indices": "mergetool.post.compression",
    "verify_data": "mergetool.post.pos_verification",
    "verify_own_proof": "mergetool.post.verification",
    "verify_proof": "mergetool.post.verification",
    "write_metadata": "mergetool.postdata.metadata",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
