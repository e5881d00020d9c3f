"""What the faces' request and answer models (each face's models.py) share."""

from __future__ import annotations

from typing import Any

from pydantic import Field


def _is_none(value: object) -> bool:
    return value is None


def left_out_when_none(**field: Any) -> Any:
    """An optional field of an answer that is left out when it has no value (the vendors answer no nulls)."""
    return Field(default=None, exclude_if=_is_none, **field)
