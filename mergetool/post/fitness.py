"""Can this PoST folder prove with these parameters? The one check ``post prove``, ``serve``
and ``check`` share: units in range, labels per unit, a VRF nonce, every data file complete.

``data_problems`` lists what is wrong (pure, read-only); ``check_data`` raises the first one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mergetool._exceptions import MergetoolError, ProvingFailed
from mergetool.post.metadata import PostMetadata, read_metadata
from mergetool.post.params import PostParams

ProblemCode = Literal["num_units_out_of_range", "labels_per_unit_mismatch", "post_data_incomplete"]


@dataclass(frozen=True)
class DataProblem:
    """One reason the folder cannot prove: ``fact`` names the value at fault, ``hint`` the fix.

    ``files``: the data files themselves are short or missing (the metadata says done).
    """

    code: ProblemCode
    fact: str
    hint: str
    files: bool = False


def data_problems(
    directory: Path, meta: PostMetadata, params: PostParams, *, network: str = "network's"
) -> list[DataProblem]:
    """What keeps ``directory`` (with metadata ``meta``) from proving with ``params``."""
    found = []
    if not params.min_num_units <= meta.num_units <= params.max_num_units:
        found.append(DataProblem(
            "num_units_out_of_range",
            f"NumUnits {meta.num_units} is outside the {network} range "
            f"[{params.min_num_units}, {params.max_num_units}]",
            "Check the preset and the units range (min/max units) the network uses.",
        ))  # fmt: skip
    if meta.labels_per_unit != params.labels_per_unit:
        found.append(DataProblem(
            "labels_per_unit_mismatch",
            f"LabelsPerUnit {meta.labels_per_unit} differs from the {network} "
            f"{params.labels_per_unit}",
            "Check the preset (or the labels per unit the data was initialized with).",
        ))  # fmt: skip
    # No Nonce yet, or a LastPosition short of the end (older tools wrote none at all once
    # finished, so a missing one alone is not incomplete).
    done = meta.last_position
    if meta.nonce is None or (done is not None and done < meta.num_labels):
        why = "no Nonce yet" if meta.nonce is None else f"LastPosition {done}"
        found.append(DataProblem(
            "post_data_incomplete",
            f"initialization is incomplete ({why}, {meta.num_labels} labels needed)",
            "Finish it with `mergetool post init` (or postcli) on this folder first.",
        ))  # fmt: skip
    else:
        from mergetool.post.reader import check_files  # (numpy: only when a folder is checked)

        try:
            check_files(directory, meta)
        except MergetoolError as exc:
            found.append(DataProblem(
                "post_data_incomplete", exc.message,
                "Restore the file, or move it aside and re-run `mergetool post init`.",
                files=True,
            ))  # fmt: skip
    return found


def check_data(directory: Path, params: PostParams) -> PostMetadata:
    """The folder's metadata, once it is fit to prove with ``params``; else ProvingFailed
    naming the folder and the first defect."""
    from mergetool.post.params import check_data_params

    directory = Path(directory)
    meta = read_metadata(directory)
    check_data_params(params, meta.labels_per_unit)  # (with the preset that would fit)
    problems = data_problems(directory, meta, params)
    if problems:
        first = problems[0]
        named = first.fact if str(directory) in first.fact else f"{directory}: {first.fact}"
        raise ProvingFailed(named, hint=first.hint)
    return meta
