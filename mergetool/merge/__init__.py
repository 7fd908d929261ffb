"""Merging node data folders: plan (read and check), then execute exactly that plan."""

from mergetool.merge.execute import execute, execute_merge
from mergetool.merge.model import MergePlan, MergeResult
from mergetool.merge.plan import plan_merge

__all__ = ["MergePlan", "MergeResult", "execute", "execute_merge", "plan_merge"]
