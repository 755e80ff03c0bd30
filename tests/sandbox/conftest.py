"""Fixtures of the sandbox tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .harness import Sandbox, make_sandbox


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., Sandbox]]:
    """Make sandboxes; at teardown, assert every one of them had its answers checked."""
    made: list[Sandbox] = []

    def factory(**settings: Any) -> Sandbox:
        sandbox = make_sandbox(**settings)
        made.append(sandbox)
        return sandbox

    yield factory
    for sandbox in made:
        answered = [entry for entry in sandbox.state.log if entry.status is not None]
        assert len(sandbox.conformance.checked) >= len(answered), "some answers went unchecked"


@pytest.fixture
def sandbox(sandbox_factory: Callable[..., Sandbox]) -> Sandbox:
    """A sandbox with the default settings (one key, ``sandbox-key``; 10 requests/s)."""
    return sandbox_factory()
