"""What ``serve`` will do, checked before it connects: ``plan_serve`` returns a ServeConfig.

Every data folder is checked here (metadata readable, data complete, units in range, no node
id twice), so a bad folder stops the command before any stream is opened; nothing is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mergetool._exceptions import InvalidParameters, MergetoolError, ServeError
from mergetool.nodeapi.address import TlsFiles, parse_node_address
from mergetool.post.params import PostParams

#: Where finished proofs are kept when no --state-dir is given: inside each data folder.
STATE_SUBDIR = ".mergetool-serve"


@dataclass(frozen=True)
class IdentityConfig:
    """One PoST data folder served for the node: its metadata and where its proofs are kept."""

    folder: Path
    node_id: bytes
    commitment_atx_id: bytes
    num_units: int
    labels_per_unit: int
    vrf_nonce: int
    state_dir: Path
    device: int  # st_dev of the data: folders on one device share the disk's passes
    name: str | None = None  # the key file beside the data, when there is exactly one
    max_file_size: int = 0  # bytes per data file, as the metadata says

    @property
    def num_labels(self) -> int:
        return self.num_units * self.labels_per_unit

    @property
    def data_bytes(self) -> int:
        return self.num_labels * 16


@dataclass(frozen=True)
class ServeConfig:
    """Everything ``serve`` needs, checked; ``Service(config)`` carries it out."""

    identities: tuple[IdentityConfig, ...]
    params: PostParams
    target: str  # host:port of the node's post listener
    tls: TlsFiles | None = None
    nonces: int = 128
    threads: int = 1
    randomx_fast: bool = False
    passes_per_disk: int = 1
    reconnect_interval_s: float = 5.0
    max_retries: int | None = None
    remote_k2pow: str | None = None
    remote_k2pow_parallelism: int = 5
    remote_k2pow_backoff_s: float = 5.0
    #: solve locally once the remote has failed this long in a row (None: never, as post-rs)
    remote_k2pow_fallback_after_s: float | None = None
    operator_address: str | None = None
    #: end the service when this process ends (post-rs's --watch-pid)
    watch_pid: int | None = None
    http_token: str | None = field(default=None, repr=False)  # required off loopback

    @property
    def address(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.target}"


def _key_name(folder: Path) -> str | None:
    try:
        keys = sorted(p.name for p in folder.iterdir() if p.suffix == ".key" and p.is_file())
    except OSError:
        return None
    return keys[0] if len(keys) == 1 else None


def check_folder(folder: Path, params: PostParams, state_root: Path | None) -> IdentityConfig:
    """Check one data folder as a proof would need it; ServeError naming folder and defect."""
    from mergetool.post.fitness import data_problems
    from mergetool.post.metadata import read_metadata

    if not folder.is_dir():
        raise ServeError(f"{folder}: not a directory")
    try:
        meta = read_metadata(folder)
        problems = data_problems(folder, meta, params)
    except MergetoolError as exc:
        named = exc.message if str(folder) in exc.message else f"{folder}: {exc.message}"
        raise ServeError(named, hint=exc.hint) from exc
    if problems:
        first = problems[0]
        named = first.fact if str(folder) in first.fact else f"{folder}: {first.fact}"
        raise ServeError(named, hint=first.hint)
    assert meta.nonce is not None  # (data_problems: no nonce is incomplete data)
    state_dir = (state_root or folder / STATE_SUBDIR).resolve()
    return IdentityConfig(
        folder=folder.resolve(), node_id=meta.node_id, commitment_atx_id=meta.commitment_atx_id,
        num_units=meta.num_units, labels_per_unit=meta.labels_per_unit, vrf_nonce=meta.nonce,
        state_dir=state_dir, device=os.stat(folder).st_dev, name=_key_name(folder),
        max_file_size=meta.max_file_size,
    )  # fmt: skip


def plan_serve(
    folders: list[Path],
    *,
    params: PostParams,
    address: str,
    state_dir: Path | None = None,
    tls: TlsFiles | None = None,
    **options: object,
) -> ServeConfig:
    """Check the folders and options (read-only) and return what ``Service`` will run."""
    from mergetool.post.scan import check_nonces

    if not folders:
        raise InvalidParameters("give at least one --dir")
    check_nonces(int(options.get("nonces", 128)))  # type: ignore[call-overload]
    target, https = parse_node_address(address)
    if https and tls is None:
        raise InvalidParameters("an https:// address needs --ca-cert, --cert and --key")
    if tls is not None and not https:
        raise InvalidParameters("--ca-cert/--cert/--key need an https:// --address")
    if options.get("operator_address") is not None:
        from mergetool._http import parse_address
        from mergetool.web.app import check_exposure

        host, _ = parse_address(str(options["operator_address"]), what="--operator-address")
        check_exposure(host, options.get("http_token"))  # type: ignore[arg-type]
    elif options.get("http_token") is not None:
        raise InvalidParameters("--http-token needs --operator-address")
    identities = [check_folder(Path(f), params, state_dir) for f in folders]
    seen: dict[bytes, Path] = {}
    for ident in identities:
        if ident.node_id in seen:
            raise ServeError(
                f"{seen[ident.node_id]} and {ident.folder} hold data of the same identity "
                f"{ident.node_id.hex()}",
                hint="One identity, one prover: give each identity's data folder once.",
            )
        seen[ident.node_id] = ident.folder
    return ServeConfig(
        identities=tuple(identities),
        params=params,
        target=target,
        tls=tls,
        **options,  # type: ignore[arg-type]
    )
