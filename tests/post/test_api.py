"""The public surface of mergetool.post, and that importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import mergetool.post


def test_all_is_pinned() -> None:
    assert mergetool.post.__all__ == [
        "Difficulty", "FileReport", "InitPlan", "InitResult", "PRESETS", "PostMetadata",
        "PostParams", "Proof", "ProveReporter", "VerifyDataReport", "VerifyMode", "commitment",
        "compute_labels", "execute_init", "generate_proof", "get_backend", "initialize",
        "pack_indices", "plan_init", "prove_folder", "proving_difficulty", "read_metadata",
        "scrypt_jane", "unpack_indices", "verify_data",
        "verify_own_proof", "verify_proof", "write_metadata",
    ]  # fmt: skip
    for name in mergetool.post.__all__:
        assert getattr(mergetool.post, name) is not None


def test_import_does_not_load_heavy_modules() -> None:
    code = (
        "import sys, mergetool.post, mergetool.cli.post\n"
        "heavy = {'numpy', 'blake3', 'randomx', 'cryptography'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_presets() -> None:
    from mergetool.post.params import MAINNET_POW_DIFFICULTY, PRESETS

    main = PRESETS["mainnet"]
    assert (main.labels_per_unit, main.k1, main.k2, main.k3, main.scrypt_n) == (
        1 << 32,
        26,
        37,
        1,
        8192,
    )
    assert (main.min_num_units, main.max_num_units) == (4, (1 << 32) - 1)
    assert MAINNET_POW_DIFFICULTY.hex() == "000dfb23b0979b4b" + "00" * 24
    test = PRESETS["test"]
    assert test.scrypt_n == 2 and test.labels_per_unit == 256 and test.k3 <= test.k2
