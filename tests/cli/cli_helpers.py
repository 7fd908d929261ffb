"""Helpers for CLI tests."""

from __future__ import annotations
