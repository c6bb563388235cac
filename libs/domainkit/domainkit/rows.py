"""A value object from a database row (or any mapping) or from another object, by the names of
its fields.

A repository that spells `Payable(payment_id=row["payment_id"], ...)` field by field says each
name twice and drifts when a field is added; `from_row(Payable, row)` says it once. Fields the
row holds under another name, or that need converting, are given by keyword. `from_attrs` does
the same from an object's attributes (an event built from the order it reports on).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def from_row(cls: type[T], row: Mapping[str, Any], **given: Any) -> T:
    """`cls` with each field the row's column of that name, except the fields in `given`."""
    values = {name: row[name] for name in field_names(cls) if name not in given}
    return cls(**values, **given)


_NAMES: dict[type[Any], tuple[str, ...]] = {}  # a class's fields are fixed once it is defined


def field_names(cls: type[Any]) -> tuple[str, ...]:
    """The constructor's field names of a dataclass or a pydantic model."""
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = _field_names(cls)
    return names


def _field_names(cls: type[Any]) -> tuple[str, ...]:
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls) if f.init)
    model_fields = getattr(cls, "model_fields", None)
    if isinstance(model_fields, dict):
        return tuple(model_fields)
    raise TypeError(f"{cls!r} is neither a dataclass nor a pydantic model")


def from_attrs(cls: type[T], source: object, **given: Any) -> T:
    """`cls` with each field the attribute of that name of `source` (another value object, an
    event), except the fields in `given`."""
    values = {name: getattr(source, name) for name in field_names(cls) if name not in given}
    return cls(**values, **given)
