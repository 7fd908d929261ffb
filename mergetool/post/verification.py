"""Proof verification: units, k2pow, indices length, then the difficulty of chosen labels."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mergetool._exceptions import InvalidParameters, InvalidProof, ProvingFailed
from mergetool.post.backends import DEFAULT_MEMORY_BUDGET, LabelBackend, get_backend
from mergetool.post.cipher import group_cipher, lazy_passes
from mergetool.post.compression import index_bits, packed_len, unpack_indices
from mergetool.post.difficulty import Difficulty, proving_difficulty, scaled_pow_target
from mergetool.post.labels import commitment
from mergetool.post.metadata import PostMetadata
from mergetool.post.params import PostParams, check_32_bytes
from mergetool.post.pow import MAX_GROUP, pow_is_valid
from mergetool.post.proof import Proof
from mergetool.post.shuffle import pick_subset


@dataclass(frozen=True)
class VerifyMode:
    """Which labels to recompute: ``all`` k2, ``one`` (position ``index``) or a ``subset`` of k3."""

    kind: str = "subset"
    index: int = 0
    seed: bytes = b""

    def __post_init__(self) -> None:
        if self.kind not in ("all", "one", "subset"):
            raise InvalidParameters(f"unknown verification mode {self.kind!r}")


def _check_pow(
    proof: Proof, node_id: bytes, challenge: bytes, num_units: int, params: PostParams, fast: bool
) -> int:
    """The proof's nonce group, once its k2pow meets the target scaled to ``num_units``."""
    group = proof.nonce // 16
    if group > MAX_GROUP:
        raise InvalidProof(
            "invalid pow", detail=f"nonce {proof.nonce} is in group {group} > {MAX_GROUP}"
        )
    target = scaled_pow_target(params.pow_difficulty, num_units)
    if not pow_is_valid(proof.pow, group, challenge, node_id, target, fast=fast):
        raise InvalidProof(
            "invalid pow", detail=f"pow {proof.pow} does not meet the target for group {group}"
        )
    return group


def _chosen_indices(
    proof: Proof, num_labels: int, params: PostParams, mode: VerifyMode, node_id: bytes,
    challenge: bytes,
) -> list[int]:  # fmt: skip
    """The label indices ``mode`` says to recompute, each checked to be a label of the data."""
    bits = index_bits(num_labels)
    expected = packed_len(bits, params.k2)
    if len(proof.indices) != expected:
        raise InvalidProof(
            "invalid indices length", detail=f"expected {expected} bytes, got {len(proof.indices)}"
        )
    indices = unpack_indices(proof.indices, bits, params.k2)
    if mode.kind == "all":
        chosen = indices
    elif mode.kind == "one":
        if not 0 <= mode.index < len(indices):
            raise InvalidParameters(
                f"index position {mode.index} is outside 0 .. {len(indices) - 1}"
            )
        chosen = [indices[mode.index]]
    else:
        chosen = pick_subset(indices, params.k3, mode.seed, node_id, challenge)
    for index in chosen:
        if index >= num_labels:
            raise InvalidProof(
                "index out of range", index=index, detail=f"there are {num_labels} labels"
            )
    return chosen


def _failures(
    proof: Proof, challenge: bytes, difficulty: Difficulty, chosen: list[int], labels: Any
) -> Iterator[InvalidProof]:
    """Per recomputed label that does not count for the proof's nonce: why (msb, then lsb)."""
    group = proof.nonce // 16
    encryptor = group_cipher(challenge, group, proof.pow).encryptor()
    byte = proof.nonce % 16
    for index, label in zip(chosen, labels, strict=True):
        raw = label.tobytes()
        value = encryptor.update(raw)[byte]
        if value < difficulty.msb:
            continue
        if value > difficulty.msb:
            yield InvalidProof("label does not meet the difficulty (msb)", index=index)
        elif not lazy_passes(challenge, group, proof.pow, proof.nonce, raw, difficulty.lsb):
            yield InvalidProof("label does not meet the difficulty (lsb)", index=index)


def verify_proof(
    proof: Proof,
    *,
    node_id: bytes,
    commitment_atx_id: bytes,
    challenge: bytes,
    num_units: int,
    params: PostParams,
    mode: VerifyMode = VerifyMode(),
    randomx_fast: bool = False,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    backend: str | LabelBackend = "numpy",
    device: str | None = None,
) -> None:
    """Return if ``proof`` is valid; raise InvalidProof naming the first failed check.

    Labels are recomputed on ``backend``: a name as in compute_labels, or a backend object.
    """
    check_32_bytes("node id", node_id)
    check_32_bytes("commitment ATX id", commitment_atx_id)
    check_32_bytes("challenge", challenge)
    if not params.min_num_units <= num_units <= params.max_num_units:
        raise InvalidProof(
            "num_units out of range",
            detail=f"{num_units} not in [{params.min_num_units}, {params.max_num_units}]",
        )
    _check_pow(proof, node_id, challenge, num_units, params, randomx_fast)
    num_labels = num_units * params.labels_per_unit
    chosen = _chosen_indices(proof, num_labels, params, mode, node_id, challenge)
    labels = get_backend(backend, device, memory_budget=memory_budget).compute_labels_at(
        commitment(node_id, commitment_atx_id), chosen, params.scrypt_n, False
    )
    difficulty = proving_difficulty(num_labels, params.k1)
    for failure in _failures(proof, challenge, difficulty, chosen, labels):
        raise failure


def verify_own_proof(
    proof: Proof,
    meta: PostMetadata,
    challenge: bytes,
    *,
    k1: int,
    k2: int,
    pow_difficulty: bytes,
    scrypt_n: int,
    randomx_fast: bool = False,
    backend: str = "numpy",
    device: str | None = None,
) -> None:
    """Check a freshly made proof against all k2 recomputed labels; ProvingFailed if it fails.

    A damaged disk yields proofs the network rejects: better to say so than to submit one.
    """
    params = PostParams(
        labels_per_unit=meta.labels_per_unit, min_num_units=0, max_num_units=1 << 64,
        scrypt_n=scrypt_n, k1=k1, k2=k2, k3=k2, pow_difficulty=pow_difficulty,
    )  # fmt: skip
    try:
        verify_proof(
            proof, node_id=meta.node_id, commitment_atx_id=meta.commitment_atx_id,
            challenge=challenge, num_units=meta.num_units, params=params,
            mode=VerifyMode("all"), randomx_fast=randomx_fast, backend=backend, device=device,
        )  # fmt: skip
    except InvalidProof as exc:
        hint = "The data may be corrupt (try `post verify-data`) or `scrypt_n` is wrong."
        failed = exc.index is not None  # a label, not the pow or the length
        if failed and _all_labels_fail(proof, meta, challenge, params, backend, device):
            hint = (
                f"Every one of the proof's {k2} labels fails: the data was most likely made "
                "with another scrypt N. Check `scrypt_n` (or `preset`)."
            )
        raise ProvingFailed(
            f"the proof failed its own verification ({exc.message})",
            hint=hint,
            parameter="scrypt_n",
        ) from exc


def _all_labels_fail(
    proof: Proof, meta: PostMetadata, challenge: bytes, params: PostParams, backend: str,
    device: str | None,
) -> bool:  # fmt: skip
    """Whether none of the proof's labels, recomputed with ``params``, counts for its nonce:
    what a wrong scrypt N does (damaged data spoils a few labels, not all)."""
    indices = unpack_indices(proof.indices, index_bits(meta.num_labels), params.k2)
    labels = get_backend(backend, device).compute_labels_at(
        commitment(meta.node_id, meta.commitment_atx_id), indices, params.scrypt_n, False
    )
    difficulty = proving_difficulty(meta.num_labels, params.k1)
    return len(list(_failures(proof, challenge, difficulty, indices, labels))) == len(indices)
