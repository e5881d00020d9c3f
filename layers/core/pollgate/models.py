"""What the faces' request and answer models (each face's models.py) share.

Every model derives from `Model`, whose schema is built at its first use rather than when its module is imported
(defer_build): a function imports its face's whole models module but uses two or three of its models, and building
the others' schemas was a tenth of its cold start.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)


def _is_none(value: object) -> bool:
    return value is None


def left_out_when_none(**field: Any) -> Any:
    """An optional field of an answer that is left out when it has no value (the vendors answer no nulls)."""
    return Field(default=None, exclude_if=_is_none, **field)
