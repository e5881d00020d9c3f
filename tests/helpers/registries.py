"""Fixtures that fill the registries as the background functions do at init (pollgate.registry): a test that runs
the sweeper or the delivery consumer in process asks for the one it needs."""

from __future__ import annotations

import pytest
from pollgate import registry


@pytest.fixture
def workflows() -> None:
    """Every face's workflow, as the operation sweeper registers them."""
    registry.register_workflows()


@pytest.fixture
def outcome_handlers() -> None:
    """Every face's webhook outcome handler, as the delivery function registers them."""
    registry.register_outcome_handlers()
