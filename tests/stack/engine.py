"""The Pulumi engine's side of a deployment, as far as the program can observe it.

The stock mock monitor answers every registration with the mock's outputs, as if each
resource were created afresh. The real engine does not, and the difference is what makes a
preview truthful or not. This monitor decides each registration's step the way the engine
does, against the state a previous `up` left (`prior`):

- same inputs: a *same* step; the program sees the stored outputs
  (pulumi/pulumi pkg/resource/deploy/step.go, SameStep). A Kubernetes object's new inputs are
  compared with the live object (as the API server returned it) pruned to the old inputs' shape
  (pulumi-kubernetes provider/pkg/provider/provider.go, Diff: "comparing between the 'pruned
  live' inputs and the new inputs"), so a field the server rewrites is a change on every run;
- changed inputs in a preview: an *update*, whose outputs azure-native computes as the new
  inputs plus `name` and `location` from the old state, every other output unknown
  (pulumi/pulumi-azure-native provider/pkg/provider/provider.go, Update, `req.GetPreview()`,
  and provider/pkg/convert/previewOutputs.go); the id is the old one (step.go, UpdateStep.Apply:
  "Always propagate the ID ... even in previews");
- changed inputs under a property the provider cannot update (FORCE_NEW, or the resource's
  replaceOnChanges): a *replace*, which creates the new resource (no id in a preview) before the old
  one is deleted;
- no prior state in a preview: a *create*, with the same preview outputs and no id yet
  (provider.go, Create, `req.GetPreview()`);
- outside a preview: the provider's real answer (the model), recorded in the live world.

A create the program declares for an Azure resource that already exists fails, as azure-native checks
first (provider/pkg/provider/provider.go, defaultCreate / customCreate: "cannot create already existing
resource"); a preview does not check. So does a Kubernetes object's, unless its provider has
`upsertExistingObjects` (pulumi-kubernetes >= v4.29 provider/pkg/await/await.go, Creation: a client-side
create, AlreadyExists; with the option, a server-side apply over the object).

A registration with `import` (and no prior state under it, or one imported from another id) is an
*import*: the live resource is read, then diffed with the program's inputs like any update
(step_generator.go: isImport, continueStepsFromImport); reading a missing one fails.

The engine's builtin invoke `pulumi:pulumi:readStackOutputs` answers with the prior `up`'s exports
(pkg/resource/deploy/builtins.go, readStackReference: the stack's last checkpoint, also in a preview).

Invokes follow the engine's gate: one whose arguments depend on a resource that has no id
yet (pending creation) returns unknown (pkg/resource/deploy/source_eval.go, Invoke:
"has pending dependencies, returning unknown"); the mock monitor leaves INVOKE_DEPENDS_ON
unsupported, so the SDK applies the same rule client-side (sdk/python/lib/pulumi/runtime/
invoke.py: "ensure that their ID is known before proceeding"). Every other invoke reads the
live world, also in a preview.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.output import Unknown
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.sync_await import _sync_await

from tests.stack import azure_model

SAME, UPDATE, REPLACE, CREATE, IMPORT = "same", "update", "replace", "create", "import"
READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs"
ROLE = "azure-native:authorization:RoleAssignment"
JOB = "kubernetes:batch/v1:Job"
COMPLETE = {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}
# The reasons of a Failed Job that pulumi-kubernetes fails an update on at once; on any other it waits until its
# timeout (provider/pkg/await/checker/job/check.go, collectJobConditionErrors).
JOB_FAILS_AT_ONCE = ("BackoffLimitExceeded", "DeadlineExceeded")
COMMAND = "command:local:Command"

# Input properties (dotted paths, wire names) whose change the provider cannot apply in place: its Diff
# asks for a replacement.
FORCE_NEW: dict[str, tuple[str, ...]] = {
    # pulumi-kubernetes provider/pkg/provider/diff.go: `job` (and every object's name and namespace).
    "kubernetes:batch/v1:Job": (
        "spec.completions",
        "spec.parallelism",
        "spec.selector",
        "spec.template",
        "metadata.name",
        "metadata.namespace",
    ),
    # pulumi-azure-native provider/pkg/gen/replacement.go: "RoleAssignment": principalId, scope.
    "azure-native:authorization:RoleAssignment": ("principalId", "scope"),
    # terraform-provider-random resource_password.go: every attribute RequiresReplace (keepers when non-null).
    "random:index/randomPassword:RandomPassword": ("keepers", "length", "special", "upper", "lower", "numeric"),
    "random:index/randomString:RandomString": ("keepers", "length", "special", "upper", "lower", "numeric"),
    # terraform-provider-time resource_time_rotating.go / resource_time_static.go: triggers, rfc3339.
    "time:index/rotating:Rotating": ("triggers", "rfc3339"),
    "time:index/static:Static": ("triggers", "rfc3339"),
    # pulumi-command: a change of triggers replaces the command.
    COMMAND: ("triggers",),
}


# Kubernetes refuses an update of these Job fields ("field is immutable": pkg/apis/batch/validation/validation.go,
# ValidateJobSpecUpdate), in a preview's server-side dry run too; what pulumi-kubernetes does not replace for them
# (diff.go) fails.
JOB_IMMUTABLE = (
    "spec.podFailurePolicy",
    "spec.completionMode",
    "spec.backoffLimitPerIndex",
    "spec.managedBy",
    "spec.successPolicy",
)

# pulumi-kubernetes provider/pkg/provider/diff.go: every object is replaced when its name or namespace changes.
KUBERNETES_FORCE_NEW = ["metadata.name", "metadata.namespace"]


def job_failure(spec: Mapping[str, Any], *, exit_code: int, disrupted: bool = False) -> str | None:
    """The Job controller's answer to one pod that ended with `exit_code` (and, with `disrupted`, the
    DisruptionTarget condition): the Failed condition's reason, or None when another pod runs. The first
    matching podFailurePolicy rule decides (Ignore: not counted; FailJob: PodFailurePolicy; Count or none: one
    failure, against backoffLimit). Kubernetes pkg/controller/job/pod_failure_policy.go, job_controller.go;
    batch/v1 types.go (JobReasonPodFailurePolicy, JobReasonBackoffLimitExceeded)."""
    for rule in (spec.get("podFailurePolicy") or {}).get("rules", []):
        codes = rule.get("onExitCodes")
        conditions = rule.get("onPodConditions") or []
        matches = (
            codes is not None and exit_code != 0 and ((exit_code in codes["values"]) == (codes["operator"] == "In"))
        ) or (disrupted and any(c["type"] == "DisruptionTarget" for c in conditions))
        if matches:
            if rule["action"] == "Ignore":
                return None
            if rule["action"] == "FailJob":
                return "PodFailurePolicy"
            break
    return "BackoffLimitExceeded" if spec.get("backoffLimit", 6) < 1 else None


def unwrap(value: Any) -> Any:
    """Inputs arrive with secrets wrapped in Pulumi's secret signature; strip it recursively."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return unwrap(value["value"])
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def has_unknowns(value: Any) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, dict):
        return any(has_unknowns(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknowns(v) for v in value)
    return False


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths (list items by index) where `new` differs from `old` or is unknown."""
    if has_unknowns(new) and not isinstance(new, (dict, list)):
        return [prefix]
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            path
            for key in sorted({*old, *new})
            for path in changed_paths(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else key)
        ]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            path for i, (o, n) in enumerate(zip(old, new, strict=True)) for path in changed_paths(o, n, f"{prefix}.{i}")
        ]
    return [] if old == new else [prefix]


def replaces(typ: str, paths: list[str], replace_on_changes: Sequence[str]) -> bool:
    """Whether the provider's Diff asks for a replacement: a changed path under a force-new property."""
    force_new = [*FORCE_NEW.get(typ, ()), *replace_on_changes]
    if typ.startswith("kubernetes:") and not typ.startswith("kubernetes:pulumi"):
        force_new += KUBERNETES_FORCE_NEW
    return any(path == new or path.startswith(f"{new}.") for path in paths for new in force_new)


def known(value: Any) -> Any:
    """The value with every unknown replaced by a placeholder, to feed the output model."""
    if isinstance(value, Unknown):
        return "unknown"
    if isinstance(value, dict):
        return {k: known(v) for k, v in value.items()}
    if isinstance(value, list):
        return [known(v) for v in value]
    return value


def _secret(value: Any) -> dict[str, Any]:
    return {rpc._special_sig_key: rpc._special_secret_sig, "value": value}


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def preview_outputs(modelled: Any, given: Any) -> Any:
    """azure-native's PreviewOutputs: each output property takes the input of that name (objects and
    lists recursively); an output with no input, or an unknown input, is unknown."""
    if _is_secret(given):
        return _secret(preview_outputs(modelled, given["value"]))
    if isinstance(modelled, dict) and isinstance(given, dict):
        return {k: preview_outputs(v, given[k]) if k in given else rpc.UNKNOWN for k, v in modelled.items()}
    if isinstance(modelled, list) and isinstance(given, list) and len(modelled) == len(given):
        return [preview_outputs(m, g) for m, g in zip(modelled, given, strict=True)]
    return rpc.UNKNOWN if has_unknowns(given) else given


def _reset(new: Any, old: Any, path: list[str]) -> Any:
    """`new` with the value at `path` taken from `old` (removed where `old` has none)."""
    key, rest = path[0], path[1:]
    if key == "*":
        if not (isinstance(new, list) and isinstance(old, list)):
            return new
        return [_reset(n, o, rest) if rest else o for n, o in zip(new, old, strict=False)] + new[len(old) :]
    if not isinstance(new, dict):
        return new
    result = dict(new)
    if not rest:
        result.pop(key, None)
        if isinstance(old, dict) and key in old:
            result[key] = old[key]
    elif key in result and isinstance(old, dict) and key in old:
        result[key] = _reset(result[key], old[key], rest)
    return result


def ignore_changes(inputs: dict[str, Any], old_inputs: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """The inputs the engine diffs and sends: each ignored path holds the old value
    (pulumi/pulumi pkg/resource/deploy/step_generator.go, processIgnoreChanges: `path.Reset(oldInputs, ...)`).
    Paths as `a.b`, `a[*].b`."""
    for path in paths:
        inputs = _reset(inputs, old_inputs, path.replace("[*]", ".*").split("."))
    return inputs


def diff_baseline(old: Any) -> dict[str, Any]:
    """What a provider compares new inputs with: the old inputs, or for a Kubernetes object the
    live object pruned to the old inputs' shape."""
    if old.type.startswith("kubernetes:") and old.custom:
        return azure_model.prune(old.outputs, old.inputs)
    return old.inputs


@dataclass(frozen=True)
class Decision:
    step: str
    id: str
    inputs: dict[str, Any]  # after ignoreChanges
    outputs: dict[str, Any]


class EngineMocks(pulumi.runtime.Mocks):
    """Decides each step against the prior state and answers invokes from the live world."""

    def __init__(
        self,
        world: azure_model.World,
        prior: Mapping[str, Any],
        preview: bool,
        stack_outputs: Mapping[str, Any] | None = None,
    ) -> None:
        self.world = world
        self.prior = prior  # urn -> Registered of the previous up
        self.preview = preview
        self.stack_outputs = dict(stack_outputs or {})  # what the previous up exported

    def decide(
        self,
        prior_urn: str,
        typ: str,
        name: str,
        inputs: dict[str, Any],
        secret_outputs: list[str],
        ignored: list[str],
        replace_on_changes: Sequence[str] = (),
        import_id: str = "",
        upsert: bool = False,
    ) -> Decision:
        old = self.prior.get(prior_urn)
        if import_id and (old is None or old.id != import_id):
            return self._imported(typ, name, inputs, secret_outputs, import_id)
        if old is not None:
            inputs = ignore_changes(inputs, old.raw_inputs, ignored)
        plain = unwrap(inputs)
        unready = old is not None and self._unready_job(typ, plain, old.id)
        if old is not None and not has_unknowns(plain) and plain == diff_baseline(old) and not unready:
            return Decision(SAME, old.id, inputs, old.raw_outputs)
        replacing = unready or (
            old is not None and replaces(typ, changed_paths(diff_baseline(old), plain), replace_on_changes)
        )
        if typ == JOB and old is not None and not replacing:
            changed = changed_paths(diff_baseline(old), plain)
            frozen = [p for p in changed for field in JOB_IMMUTABLE if p == field or p.startswith(f"{field}.")]
            if frozen:
                raise ProviderRefusal(f'Job.batch "{old.id}" is invalid: {frozen[0]}: field is immutable')
        if replacing:
            # A replacement creates the new resource (the old one goes at the end): no id in a preview
            # (pkg/resource/deploy/step.go, ReplaceStep; the provider's Create with preview).
            old = None
        rid, modelled, extra = azure_model.model(typ, name, known(plain), self.world.now)
        # A role assignment's name is a GUID azure-native draws at its first Check, so a create never finds one
        # that exists (the model's stand-in id is derived, not drawn).
        creating = old is None and not replacing and not self.preview
        if creating and typ.startswith("azure-native:") and typ != ROLE:
            self._refuse_existing(rid)
        # A preview creates with a server-side dry run, which meets the same AlreadyExists (await.go).
        exists_in_cluster = f"{typ} {rid}" in self.world.cluster_objects
        if typ.startswith("kubernetes:") and old is None and not replacing and not upsert and exists_in_cluster:
            raise ProviderRefusal(f'{typ.split(":")[-1]} "{rid}" already exists (AlreadyExists)')
        if not self.preview and typ.startswith("kubernetes:"):
            key = f"{typ} {rid}"
            # A Job is created once it completed: pulumi-kubernetes awaits it (await/job.go).
            self.world.cluster_objects[key] = {**modelled, **({"status": COMPLETE} if typ == JOB else {})}
        if self.preview:
            # pulumi-command too: its Update runs nothing in a preview and returns the old stdout, but
            # pulumi-go-provider (infer/resource.go, getDependencies) marks every output of a resource without
            # declared wiring unknown once any input changed.
            outputs = preview_outputs(modelled, inputs)
            if old is not None:
                outputs |= {k: old.raw_outputs[k] for k in ("name", "location") if k in old.raw_outputs}
        else:
            if typ.startswith("azure-native:"):
                self.world.objects[rid] = {"id": rid, **modelled}
                self.world.objects.update(extra)
            # Outputs keep the secretness of the inputs they come from, as the engine does.
            outputs = {k: _secret(v) if _is_secret(inputs.get(k)) else v for k, v in modelled.items()}
        # The engine applies additionalSecretOutputs (the stock mock monitor does not).
        outputs |= {k: _secret(unwrap(outputs[k])) for k in secret_outputs if k in outputs}
        if old is None:
            return Decision(REPLACE if replacing else CREATE, "" if self.preview else rid, inputs, outputs)
        return Decision(UPDATE, old.id, inputs, outputs)

    def _unready_job(self, typ: str, plain: dict[str, Any], rid: str) -> bool:
        """pulumi-kubernetes replaces a Job annotated `pulumi.com/replaceUnready` that is not ready: no
        Complete=True condition, whether it failed or still runs (provider/pkg/provider/provider.go, Diff:
        ReplaceUnready; await/checker/job/check.go on the live object)."""
        annotations = (plain.get("metadata") or {}).get("annotations") or {}
        if typ != JOB or annotations.get("pulumi.com/replaceUnready") != "true":
            return False
        live = self.world.cluster_objects.get(f"{typ} {rid}") or {}
        conditions = (live.get("status") or {}).get("conditions") or []
        return not any(c.get("type") == "Complete" and c.get("status") == "True" for c in conditions)

    def _refuse_existing(self, rid: str) -> None:
        try:
            self.world.get(rid)
        except azure_model.ResourceNotFound:
            return
        raise ProviderRefusal(f"cannot create already existing resource '{rid}'")

    def _imported(
        self, typ: str, name: str, inputs: dict[str, Any], secret_outputs: list[str], import_id: str
    ) -> Decision:
        """Read the live resource (a missing one fails the import), then update it to the program's inputs."""
        live = {k: v for k, v in self.world.get(import_id).items() if k != "id"}
        plain = known(unwrap(inputs))
        if not self.preview and replaces(typ, changed_paths(azure_model.prune(live, plain), plain), ()):
            # step_generator.go: "previously-imported resources that still specify an ID may not be replaced".
            raise ProviderRefusal(f"the program's inputs would replace the imported resource '{import_id}'")
        _, modelled, _ = azure_model.model(typ, name, plain, self.world.now)
        # What the service assigned stays (a client id, a principal id); the update sets the program's inputs.
        modelled = {**live, **modelled}
        outputs = preview_outputs(modelled, inputs) if self.preview else modelled
        if not self.preview:
            self.world.objects[import_id] = {"id": import_id, **modelled}
        outputs |= {k: _secret(unwrap(outputs[k])) for k in secret_outputs if k in outputs}
        return Decision(IMPORT, import_id, inputs, outputs)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        raise AssertionError("EngineMonitor decides registrations itself")

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == READ_STACK_OUTPUTS:
            return {"name": args.args["name"], "outputs": self.stack_outputs, "secretOutputNames": []}, []
        return self.world.call(args.token, unwrap(dict(args.args))), []


class ProviderRefusal(Exception):
    """A step the provider or the service refuses: a create of what exists (azure-native, the API server), a
    change of an immutable field (the API server)."""


class EngineMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that registers resources the way the engine would (see the module docstring)."""

    def __init__(self, mocks: EngineMocks) -> None:
        super().__init__(mocks)
        self.engine = mocks
        self.decisions: dict[str, Decision] = {}
        # new URN -> the old URN it was found under through an alias (step_generator.go: sg.aliases)
        self.aliased_from: dict[str, str] = {}

    def RegisterResource(self, request: Any) -> Any:
        from pulumi.runtime.proto import resource_pb2

        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        pulumi_mocks._ensure_event_loop()  # as MockMonitor does
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        secret_outputs, ignored = list(request.additionalSecretOutputs), list(request.ignoreChanges)
        # The URN first, then each alias (step_generator.go, generateSteps: "Check the URN first, then aliases").
        prior_urn = next((u for u in [urn, *self.aliases(request)] if u in self.engine.prior), urn)
        if prior_urn != urn:
            self.aliased_from[urn] = prior_urn
        decision = self.engine.decide(
            prior_urn,
            request.type,
            request.name,
            inputs,
            secret_outputs,
            ignored,
            list(request.replaceOnChanges),
            request.importId,
            self._upserts(request.provider),
        )
        self.decisions[urn] = decision
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, decision.id, decision.outputs)
        state = _sync_await(rpc.serialize_properties(decision.outputs, {}))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=decision.id, object=state)

    def _upserts(self, provider_ref: str) -> bool:
        """Whether the resource's provider (`<urn>::<id>`) applies over an object that exists."""
        provider = self.decisions.get(provider_ref.rsplit("::", 1)[0])
        return provider is not None and unwrap(provider.inputs).get("upsertExistingObjects") in (True, "true")

    def aliases(self, request: Any) -> list[str]:
        """The old URNs a registration may match, as the engine generates them from the SDK's alias specs
        (pulumi/pulumi pkg/resource/deploy/step_generator.go, generateAliases, collapseAliasToUrn and
        inheritedChildAlias): each alias, then, when the parent was found through an alias, the resource (and
        each alias) under the parent's old URN, a name that starts with the parent's new name taking its old
        name instead."""
        own = [self._collapse(request, alias) for alias in request.aliases]
        parent_alias = self.aliased_from.get(request.parent)
        if parent_alias is None:
            return own
        parent_name = request.parent.rsplit("::", 1)[-1]
        inherited = [
            self._inherited(typ, name, parent_name, parent_alias)
            for typ, name in [
                (request.type, request.name),
                *((a.split("::")[2].split("$")[-1], a.rsplit("::", 1)[-1]) for a in own),
            ]
        ]
        return list(dict.fromkeys([*own, *inherited]))

    def _collapse(self, request: Any, alias: Any) -> str:
        if alias.urn:
            return alias.urn
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        return self.make_urn(parent, spec.type or request.type, spec.name or request.name)

    def _inherited(self, typ: str, name: str, parent_name: str, parent_alias: str) -> str:
        alias_name = (
            parent_alias.rsplit("::", 1)[-1] + name[len(parent_name) :] if name.startswith(parent_name) else name
        )
        return self.make_urn(parent_alias, typ, alias_name)
