"""Merging node data folders: plan (read and check), then execute exactly that plan."""

from mergetool.merge.execute import execute
from mergetool.merge.model import MergePlan, MergeResult
from mergetool.merge.plan import plan_merge

__all__ = ["MergePlan", "MergeResult", "execute", "plan_merge"]
