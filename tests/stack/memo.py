"""Each distinct evaluation of the program runs once per test process, and its result is read-only.

An evaluation is a pure function of its key: the program directory, the stack, the configuration the CLI
hands the program (secrets included), preview or up, the prior state's content and the cut, the one
named patch applied to the program's modules for that run. Everything else a test might change is
refused rather than silently shared:

- a result is frozen: its dicts and lists raise on any change (a copy.deepcopy is a mutable copy);
- a module of the program or of a provider SDK patched outside a cut is refused at the next evaluation,
  since the memo could not tell that run from an unpatched one;
- two different cuts under one name are refused.

There is no cache across runs: the memo lives in the process, so every run evaluates each case at least
once. After each evaluation the collector stops scanning what is already there (`gc.freeze`): the
imports and the shared results, which live as long as the process.
"""

from __future__ import annotations

import gc
import hashlib
import json
import sys
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from types import FunctionType, ModuleType
from typing import Any, NoReturn, TypeVar

import pytest
import yaml

T = TypeVar("T")


def _read_only(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(
        "an evaluation's result is shared by every test in this process and is read-only: "
        "change a copy.deepcopy of it instead"
    )


class FrozenDict(dict):
    """A dict that refuses every change. It equals, serialises and copies (mutably) like a dict."""

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __copy__(self) -> dict:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict:
        return thaw(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self),))


class FrozenList(list):
    """A list that refuses every change. It equals, serialises and copies (mutably) like a list."""

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only
    append = clear = extend = insert = pop = remove = reverse = sort = _read_only

    def __copy__(self) -> list:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list:
        return thaw(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (list(self),))


def freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return value if isinstance(value, FrozenDict) else FrozenDict((k, freeze(v)) for k, v in value.items())
    if isinstance(value, list):
        return value if isinstance(value, FrozenList) else FrozenList(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [thaw(v) for v in value]
    return value


for _frozen, _plain in ((FrozenDict, dict), (FrozenList, list)):
    yaml.SafeDumper.add_representer(_frozen, yaml.SafeDumper.yaml_representers[_plain])


def digest(*parts: Any) -> str:
    """A content digest of JSON-like data; a value JSON cannot hold counts by its type (an unknown is
    an unknown wherever it was made)."""
    text = json.dumps(parts, sort_keys=True, default=lambda o: f"<{type(o).__qualname__}: {_stable(o)}>")
    return hashlib.sha256(text.encode()).hexdigest()


def _stable(value: object) -> str:
    return "" if type(value).__repr__ is object.__repr__ else repr(value)


@dataclass(frozen=True)
class Cut:
    """One named change to the program for one evaluation: `apply` patches (through the monkeypatch it is
    given, undone after the run) a resource constructor or a constant of the program's modules. The name
    is the cut's identity in the memo."""

    name: str
    apply: Callable[[pytest.MonkeyPatch], None]


# The modules whose attributes a cut may patch: the program's own, and the packages of the SDKs it builds
# resources with (the program reaches a resource class through its package: `authorization.RoleAssignment`).
_PROGRAM = ("workload_id", "workload_binding")
_SDKS = ("pulumi", "pulumiverse_time")


def _patchable_module(name: str, module: ModuleType) -> bool:
    return name.startswith(_PROGRAM) or (name.startswith(_SDKS) and hasattr(module, "__path__"))


def _patchable(value: object) -> bool:
    return isinstance(value, (type, FunctionType, ModuleType))


class EvaluationMemo:
    def __init__(self) -> None:
        self._results: dict[Hashable, Any] = {}
        self._cuts: dict[str, Cut] = {}
        self._pristine: dict[str, dict[str, int]] = {}
        self.runs = 0

    def evaluation(self, key: Hashable, cut: Cut | None, run: Callable[[], T]) -> T:
        """The result for `key`: evaluated (with `cut` applied) the first time, shared after."""
        self._check_cut(cut)
        self.check_pristine()
        if key not in self._results:
            self._results[key] = self.run_once(cut, run)
        return self._results[key]

    def run_once(self, cut: Cut | None, run: Callable[[], T]) -> T:
        """Evaluate for real, outside the memo (determinism checks, runs with side effects)."""
        with pytest.MonkeyPatch.context() as monkeypatch:
            if cut is not None:
                cut.apply(monkeypatch)
            result = run()
        self.runs += 1
        self._remember_pristine(m for name, m in list(sys.modules.items()) if _patchable_module(name, m))
        # What stays (imports, memoised results) leaves the collector's sight: each later collection
        # scans only what the next evaluation makes.
        gc.collect()
        gc.freeze()
        return result

    def _check_cut(self, cut: Cut | None) -> None:
        if cut is None:
            return
        known = self._cuts.setdefault(cut.name, cut)
        if known is not cut:
            raise AssertionError(f"two different cuts are named {cut.name!r}: a cut's name is its identity in the memo")

    def _remember_pristine(self, modules: Iterable[ModuleType]) -> None:
        for module in modules:
            if module.__name__ not in self._pristine:
                self._pristine[module.__name__] = {k: id(v) for k, v in vars(module).items() if _patchable(v)}

    def check_pristine(self) -> None:
        """Refuse an evaluation while a program or SDK module is patched outside a cut."""
        for name, attributes in self._pristine.items():
            module = vars(sys.modules[name])
            changed = [attr for attr, ident in attributes.items() if id(module.get(attr)) != ident]
            if changed:
                raise AssertionError(
                    f"{name}.{changed[0]} is patched outside a cut: pass the patch as evaluate(cut=Cut(...)) "
                    "so the memo keys on it"
                )


MEMO = EvaluationMemo()
