"""``mergetool.serve``'s public names: pinned, and each resolves."""

from __future__ import annotations

import mergetool.serve


def test_public_names_are_pinned_and_resolve() -> None:
    assert mergetool.serve.__all__ == [
        "IdentityConfig", "IdentityState", "ProofStore", "ServeConfig", "Service", "plan_serve",
    ]  # fmt: skip
    for name in mergetool.serve.__all__:
        assert getattr(mergetool.serve, name).__name__ == name
