"""Reading resource properties during a preview, where some are unknown.

The policy SDK wraps props so that reading an unknown value raises UnknownValueError. A rule reads
each value it judges through `known`: an unknown value is skipped (it cannot be judged yet), a
known wrong one is still reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UnknownValueError

T = TypeVar("T")


def known(read: Callable[[], T]) -> T | None:
    """read(), or None when what it reads is unknown in this preview (or absent)."""
    try:
        return read()
    except (UnknownValueError, KeyError, IndexError, TypeError):
        return None


def path(props: Mapping[str, Any], *keys: str | int) -> Any:
    """props[k1][k2]...; raises KeyError/IndexError/TypeError when absent, UnknownValueError when unknown."""
    value: Any = props
    for key in keys:
        value = value[key]
    return value


def value(props: Mapping[str, Any], *keys: str | int) -> Any:
    """The value at a path, or None when it is absent or unknown."""
    return known(lambda: path(props, *keys))


def value_or(props: Mapping[str, Any], default: Any, *keys: str | int) -> Any:
    """The value at a path; `default` when it is absent; None when it is unknown."""
    try:
        return path(props, *keys)
    except UnknownValueError:
        return None
    except (KeyError, IndexError, TypeError):
        return default


def of_type(resources: Iterable[PolicyResource], *types: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]
