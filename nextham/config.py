"""Strict reading of configuration mappings (YAML sections, JSON metadata) into dataclasses.

Every settings object of nextham — engine settings, model config, loss weights, training
sections — is read through :func:`from_mapping`, so that an unknown or malformed key is always
the same kind of error (:class:`nextham.errors.InputError`) with the same kind of message.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from nextham.errors import InputError

T = TypeVar("T")


def field_names(cls: type) -> set[str]:
    """Names of the fields of dataclass ``cls``."""
    return {f.name for f in dataclasses.fields(cls)}


def from_mapping(
    cls: type[T],
    data: Mapping[str, Any] | None,
    section: str,
    convert: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> T:
    """``cls(**data)`` for a dataclass, refusing keys it does not know.

    Parameters
    ----------
    cls
        The dataclass to build.
    data
        Its fields by name (``None`` means all defaults).
    section
        What the mapping is called in the user's file (e.g. ``"model"``, ``"engine settings"``);
        it starts every error message.
    convert
        Applied to the (checked) mapping before construction, e.g. to turn lists into tuples.

    Raises
    ------
    InputError
        For a non-mapping, an unknown key, or a value the dataclass rejects.
    """
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise InputError(f"{section}: expected a mapping of names to values, got {data!r}")
    known = field_names(cls)
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"unknown {section} keys {unknown}; known: {sorted(known)}")
    values = dict(data) if convert is None else convert(dict(data))
    try:
        return cls(**values)
    except InputError:
        raise
    except (TypeError, ValueError) as exc:
        raise InputError(f"{section}: {exc}") from None
