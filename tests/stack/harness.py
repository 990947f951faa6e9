"""Run the real Pulumi program (infra/) the way the CLI does, under an emulated engine, and record everything.

- Started as the Python language host starts it: working directory = the program directory,
  `runpy.run_path(".")` (pulumi/pulumi sdk/python/cmd/pulumi-language-python-exec: `os.chdir(args.pwd)`,
  `runpy.run_path(args.PROGRAM, ...)`; pkg/engine/project.go getPwdMain gives pwd=infra/, main=".").
  The project root is not on sys.path.
- With the configuration the CLI gives: Pulumi.yaml defaults, the stack file, then overrides.
- Against an engine that keeps state between runs (tests/stack/engine.py): pass the result of an
  `up` as `prior` to evaluate a second `up` or an update preview.

The record keeps what a reviewer needs to check the wiring and the lifecycle: parent, explicit
and per-property dependencies, provider, resource options, every invoke, and each step.
"""

from __future__ import annotations

import dataclasses
import json
import os
import runpy
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from unittest import mock

import grpc
import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from tests.stack.azure_model import (
    AKS_CLI_CLIENT_ID,
    AKS_SERVER_ID,
    DEPLOYER_OBJECT_ID,
    SUBSCRIPTION_ID,
    TENANT_ID,
    ResourceNotFound,
    World,
    admin_kubeconfig,
    exec_kubeconfig,
    stable_uuid,
)
from tests.stack.constants import CLUSTER, MANAGED_NAMESPACE
from tests.stack.engine import IMPORT, REPLACE, SAME, EngineMocks, EngineMonitor, changed_paths, diff_baseline, unwrap
from tests.stack.memo import MEMO, Cut, FrozenDict, digest, freeze
from tests.stack.stacks import PLACEHOLDER_REPLACEMENTS, PROGRAM_DIR, PROJECT, ROOT, cli_config, shipped_config

__all__ = [
    "AKS_CLI_CLIENT_ID",
    "AKS_SERVER_ID",
    "DEPLOYER_OBJECT_ID",
    "PROGRAM_DIR",
    "PROJECT",
    "ROOT",
    "SUBSCRIPTION_ID",
    "TENANT_ID",
    "Cut",
    "Evaluation",
    "EvaluationFailed",
    "Registered",
    "admin_kubeconfig",
    "evaluate",
    "evaluate_stack",
    "exec_kubeconfig",
    "is_secret",
    "stable_uuid",
    "unwrap",
]


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


@dataclass(frozen=True)
class Registered:
    urn: str
    id: str
    type: str
    name: str
    custom: bool
    inputs: dict[str, Any]  # as the engine diffs them (after ignoreChanges), secrets unwrapped, unknowns kept
    raw_inputs: dict[str, Any]  # secrets still wrapped
    outputs: dict[str, Any]  # what the engine answered, secrets unwrapped
    raw_outputs: dict[str, Any]
    parent: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    provider: str
    delete_before_replace: bool
    retain_on_delete: bool
    deleted_with: str
    ignore_changes: list[str]
    replace_on_changes: list[str]
    additional_secret_outputs: list[str]
    step: str
    aliased_from: str = ""  # the URN of the prior resource it took over through an alias, if any


@dataclass(frozen=True)
class Evaluation:
    resources: list[Registered]
    invokes: list[str]
    exports: dict[str, Any]
    secret_exports: frozenset[str]
    unknown_exports: frozenset[str]
    world: World
    preview: bool
    by_urn: dict[str, Registered] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_urn", FrozenDict((r.urn, r) for r in self.resources))

    @cached_property
    def digest(self) -> str:
        """The state's content: what a later evaluation against it as `prior` depends on."""
        world = self.world
        return digest(
            [dataclasses.asdict(r) for r in self.resources],
            world.objects,
            world.cluster_objects,
            str(world.now),
            world.client_object_id,
            self.exports,  # what the next run reads back (pulumi:pulumi:readStackOutputs)
        )

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str, name: str | None = None) -> Registered:
        found = [r for r in self.of_type(typ) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {typ} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> Registered:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
        return found[0]

    def existing_cluster(self) -> Mapping[str, Any] | None:
        """The cluster the stack runs on without declaring it (existingCluster), as the live world holds it, found
        through the managed namespaces the stack adds to it; None when the stack declares its own."""
        if any(r.type == CLUSTER for r in self.resources):
            return None
        (cluster_id,) = {r.id.split("/managedNamespaces/")[0] for r in self.resources if r.type == MANAGED_NAMESPACE}
        return self.world.get(cluster_id)

    def custom_resources(self) -> Iterator[Registered]:
        return (r for r in self.resources if r.custom)

    def all_dependencies(self, resource: Registered) -> set[str]:
        deps = set(resource.dependencies)
        for urns in resource.property_dependencies.values():
            deps |= set(urns)
        return deps

    def engine_dependencies(self, resource: Registered) -> set[str]:
        """What the engine orders a resource after: its dependencies and its provider
        (a provider reference is "<urn>::<id>")."""
        provider = {resource.provider.rsplit("::", 1)[0]} if resource.provider else set()
        return self.all_dependencies(resource) | provider

    def depends_transitively(self, resource: Registered, target: Registered) -> bool:
        seen: set[str] = set()
        stack = list(self.all_dependencies(resource))
        while stack:
            urn = stack.pop()
            if urn == target.urn:
                return True
            if urn in seen or urn not in self.by_urn:
                continue
            seen.add(urn)
            stack.extend(self.all_dependencies(self.by_urn[urn]))
        return False

    def inputs_by_urn(self) -> dict[str, dict[str, Any]]:
        return {r.urn: r.inputs for r in self.resources}

    def changes(self, prior: Evaluation) -> dict[str, str]:
        """What a preview against `prior` would show: name -> "create", "update: <keys>", "replace: <keys>" or
        "delete".

        An input that differs or is unknown is a change, as each provider's Diff reports it; a change of a
        property the provider cannot update in place, or one listed in replaceOnChanges, is a replacement
        (tests/stack/engine.py FORCE_NEW)."""
        shown: dict[str, str] = {}
        for resource in self.resources:
            old = prior.by_urn.get(resource.urn) or prior.by_urn.get(resource.aliased_from)
            if resource.step == IMPORT:
                shown[resource.name] = "import"
            elif old is None:
                shown[resource.name] = "create"
            elif resource.step != SAME:
                keys = sorted({path.split(".")[0] for path in changed_paths(diff_baseline(old), resource.inputs)})
                shown[resource.name] = f"{'replace' if resource.step == REPLACE else 'update'}: {', '.join(keys)}"
        taken_over = {r.aliased_from for r in self.resources}
        shown |= {r.name: "delete" for r in prior.resources if r.urn not in self.by_urn and r.urn not in taken_over}
        return shown


def _delete_undeclared(world: World, prior: Evaluation, registered: list[Registered]) -> None:
    """What an `up` deletes at its end: each prior resource the program no longer declares (nor took over
    through an alias) leaves the live world, unless it is kept on delete (step.go, DeleteStep.Apply)."""
    kept = {r.urn for r in registered} | {r.aliased_from for r in registered}
    for old in prior.resources:
        if old.urn in kept or old.retain_on_delete or not old.custom:
            continue
        world.objects.pop(old.id, None)
        world.cluster_objects.pop(f"{old.type} {old.id}", None)


class EvaluationFailed(Exception):
    """The program raised; carries what had been declared (and invoked) before it did."""

    def __init__(self, cause: BaseException, resources: list[Registered], invokes: list[str]) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.resources = resources
        self.invokes = invokes


class RecordingMonitor(EngineMonitor):
    def __init__(self, mocks: EngineMocks) -> None:
        super().__init__(mocks)
        self.registered: list[Registered] = []
        self.invokes: list[str] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            decision = self.decisions[response.urn]
            raw = decision.inputs
            self.registered.append(
                Registered(
                    urn=response.urn,
                    id=decision.id,
                    type=request.type,
                    name=request.name,
                    custom=request.custom,
                    inputs=freeze(unwrap(dict(raw))),
                    raw_inputs=freeze(dict(raw)),
                    outputs=freeze(unwrap(decision.outputs)),
                    raw_outputs=freeze(decision.outputs),
                    parent=request.parent,
                    dependencies=freeze(list(request.dependencies)),
                    property_dependencies=freeze({k: list(v.urns) for k, v in request.propertyDependencies.items()}),
                    provider=request.provider,
                    delete_before_replace=request.deleteBeforeReplace,
                    retain_on_delete=request.retainOnDelete,
                    deleted_with=request.deletedWith,
                    ignore_changes=freeze(list(request.ignoreChanges)),
                    replace_on_changes=freeze(list(request.replaceOnChanges)),
                    additional_secret_outputs=freeze(list(request.additionalSecretOutputs)),
                    step=decision.step,
                    aliased_from=self.aliased_from.get(response.urn, ""),
                )
            )
        return response

    def Invoke(self, request: Any) -> Any:
        self.invokes.append(request.tok)
        try:
            return super().Invoke(request)
        except ResourceNotFound as err:
            # The engine answers a provider's error as the RPC's error (pkg/resource/deploy/source_eval.go,
            # Invoke: "invocation of %v returned an error"); the SDK raises it where the program invoked.
            raise InvokeFailed(f"invocation of {request.tok} returned an error: {err}") from None


class InvokeFailed(grpc.RpcError):
    """A failed invoke as the engine's resource monitor reports it: a gRPC error with details."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self._details = details

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNKNOWN

    def details(self) -> str:
        return self._details


def evaluate(
    config: Mapping[str, Any] | None = None,
    *,
    secrets: Mapping[str, str] | None = None,
    stack: str = "dev",
    program_dir: Path = PROGRAM_DIR,
    prior: Evaluation | None = None,
    preview: bool = False,
    cut: Cut | None = None,
    fresh: bool = False,
    client: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Evaluation:
    """Run the program once, as `pulumi up` (or `pulumi preview`) would, and return what it declared.

    `config` overrides the stack file (Pulumi.<stack>.yaml) for this run, as `pulumi config set`
    would; values are given as on the command line (strings, or JSON-able lists/bools/ints). `cut`
    patches the program for this run only (tests/stack/memo.py). `client`: the object id of who runs it
    (default: the prior run's, else DEPLOYER_OBJECT_ID). `environ`: variables the CLI's environment adds for
    this run (the program inherits them).

    Each distinct run happens once per process and its result is shared, read-only
    (tests/stack/memo.py). `fresh` runs it again for real: for the checks that two runs agree, and
    for a program directory the test may change (any but the repository's own).
    """
    all_config, secret_keys = cli_config(shipped_config(stack) | dict(config or {}), secrets)

    def run() -> Evaluation:
        with mock.patch.dict(os.environ, dict(environ or {})):
            return _run_program(all_config, secret_keys, stack, program_dir, prior, preview, client)

    if fresh or program_dir != PROGRAM_DIR:
        return MEMO.run_once(cut, run)
    key = (
        str(program_dir),
        stack,
        json.dumps(all_config, sort_keys=True),
        tuple(sorted(secret_keys)),
        preview,
        prior.digest if prior else None,
        cut.name if cut else None,
        client,
        json.dumps(dict(environ or {}), sort_keys=True),
    )
    return MEMO.evaluation(key, cut, run)


def _run_program(
    all_config: dict[str, str],
    secret_keys: list[str],
    stack: str,
    program_dir: Path,
    prior: Evaluation | None,
    preview: bool,
    client: str | None,
) -> Evaluation:
    pulumi.runtime.set_all_config(all_config, secret_keys)

    world = prior.world.copy(client_object_id=client) if prior else World().copy(client_object_id=client)
    monitor = RecordingMonitor(
        EngineMocks(world, prior.by_urn if prior else {}, preview, dict(prior.exports) if prior else None)
    )
    pulumi.runtime.settings.reset_options()
    pulumi.runtime.set_mocks(monitor.engine, project=PROJECT, stack=stack, preview=preview, monitor=monitor)

    exported: dict[str, Any] = {}
    resolved: dict[str, Any] = {}
    secret_exports: set[str] = set()
    unknown_exports: set[str] = set()

    async def run() -> None:
        with mock.patch.object(pulumi, "export", lambda key, value: exported.__setitem__(key, value)):
            runpy.run_path(".", run_name="__main__")
        for key, value in exported.items():
            output = pulumi.Output.from_input(value)
            resolved[key] = await output.future()
            if await output.is_secret():
                secret_exports.add(key)
            if not await output.is_known():
                unknown_exports.add(key)

    cwd, path = Path.cwd(), list(sys.path)
    os.chdir(program_dir)
    # The importer for "." is cached with the directory it first resolved to; the engine starts
    # one process per run, the tests run many programs in one.
    sys.path_importer_cache.pop(".", None)
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT]
    try:
        _sync_await(run_pulumi_func(run))
    except Exception as err:
        raise EvaluationFailed(err, monitor.registered, monitor.invokes) from err
    finally:
        os.chdir(cwd)
        sys.path[:] = path
    if prior is not None and not preview:
        _delete_undeclared(world, prior, monitor.registered)
    return Evaluation(
        resources=freeze(monitor.registered),
        invokes=freeze(monitor.invokes),
        exports=freeze(resolved),
        secret_exports=frozenset(secret_exports),
        unknown_exports=frozenset(unknown_exports),
        world=world.frozen(),
        preview=preview,
    )


def evaluate_stack(stack: str, config: Mapping[str, Any] | None = None, **options: Any) -> Evaluation:
    """`evaluate` of a shipped stack as a user deploys it: its placeholder ranges replaced."""
    return evaluate(PLACEHOLDER_REPLACEMENTS.get(stack, {}) | dict(config or {}), stack=stack, **options)
