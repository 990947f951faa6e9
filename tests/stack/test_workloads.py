"""Workloads from config: each its own identity, federated to exactly its own ServiceAccount, granted exactly
its own secrets, with its own proof; bad entries refused before any resource; a single-workload stack keeps
its resources when it moves to the lists."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.stack import constants as t
from tests.stack import wiring
from tests.stack.cuts import LEAKED_GRANT
from tests.stack.harness import Evaluation, EvaluationFailed, evaluate, is_secret
from tests.stack.stacks import THREE_WORKLOADS
from tests.stack.state_file import STATES, load
from tests.stack.test_lifecycle_schedule import schedule

# One worker evaluates the three workloads for every test here.
pytestmark = pytest.mark.xdist_group("three workloads: program")

SPECS = {w["name"]: w for w in THREE_WORKLOADS["workloads"]}
SECRETS = [s["name"] for s in THREE_WORKLOADS["secrets"]]


@pytest.fixture(scope="module")
def three() -> Evaluation:
    return evaluate(THREE_WORKLOADS)


@pytest.mark.parametrize("check", wiring.ALL_CHECKS, ids=lambda c: c.__name__)
def test_three_workloads_are_each_wired(three: Evaluation, check: Any) -> None:
    check(three)


def test_each_workload_becomes_its_own_identity_through_its_own_service_account(three: Evaluation) -> None:
    issuer = three.one(t.CLUSTER).outputs["oidcIssuerProfile"]["issuerURL"]
    found = {w.name: w for w in wiring.workloads(three)}
    assert set(found) == set(SPECS)
    assert len({w.identity.inputs["resourceName"] for w in found.values()}) == 3
    for name, spec in SPECS.items():
        w = found[name]
        assert w.identity.inputs["resourceName"] == f"id-wid-dev-{name}"
        assert w.credential.inputs["issuer"] == issuer
        assert w.credential.inputs["subject"] == f"system:serviceaccount:{spec['namespace']}:{spec['serviceAccount']}"
        assert w.credential.inputs["audiences"] == ["api://AzureADTokenExchange"]
        assert w.service_account.inputs["metadata"]["annotations"] == {
            "azure.workload.identity/client-id": w.identity.outputs["clientId"]
        }


def test_each_workload_is_granted_exactly_its_secrets_and_denied_the_others(three: Evaluation) -> None:
    secret_ids = {s.inputs["secretName"]: s.id for s in three.of_type(t.SECRET)}
    assert set(secret_ids) == set(SECRETS)
    principals = {w.name: w.identity.outputs["principalId"] for w in wiring.workloads(three)}
    granted = {
        (name, secret)
        for a in three.of_type(t.ROLE_ASSIGNMENT)
        if a.inputs["roleDefinitionId"].endswith(t.KEY_VAULT_SECRETS_USER)
        for name, principal in principals.items()
        if a.inputs["principalId"] == principal
        for secret, scope in secret_ids.items()
        if a.inputs["scope"] == scope
    }
    for name, spec in SPECS.items():
        for secret in SECRETS:
            assert ((name, secret) in granted) == (secret in spec["secrets"]), (name, secret)
    assert len(three.of_type(t.ROLE_ASSIGNMENT)) == len(granted) + 1 + 2  # + AcrPull + a deployer role per namespace


def test_each_delivery_mode_gets_its_jobs_and_only_csi_workloads_a_class(three: Evaluation) -> None:
    for w in wiring.workloads(three):
        spec = SPECS[w.name]
        sdk, csi = spec["delivery"] in ("sdk", "both"), spec["delivery"] in ("csi", "both")
        reads = [j for j in w.sdk_jobs if not j.name.endswith("-isolation-job")]
        assert sorted(wiring._read_secret(j) for j in reads) == (sorted(spec["secrets"]) if sdk else [])
        assert sorted(wiring._read_secret(j) for j in w.file_jobs) == (sorted(spec["secrets"]) if csi else [])
        assert (w.secret_provider_class is not None) == csi
    names = [(j.inputs["metadata"]["namespace"], j.inputs["metadata"]["name"]) for j in three.of_type(t.JOB)]
    assert len(names) == len(set(names)), "two Jobs with one name in a namespace"


def test_each_distinct_namespace_is_managed_once_with_the_deployers_role(three: Evaluation) -> None:
    assert sorted(n.inputs["managedNamespaceName"] for n in three.of_type(t.MANAGED_NAMESPACE)) == [
        "analytics",
        "shop",
    ]
    roles = {
        a.inputs["scope"].rsplit("/", 1)[-1]: a.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        for a in three.of_type(t.ROLE_ASSIGNMENT)
        if "/namespaces/" in a.inputs["scope"]
    }
    # Both namespaces hold a workload that mounts with the CSI driver: custom resources need RBAC Admin.
    assert roles == {"shop": t.AKS_RBAC_ADMIN, "analytics": t.AKS_RBAC_ADMIN}
    assert {p.inputs["namespace"] for p in three.of_type(t.K8S_PROVIDER)} == {"shop", "analytics"}


def test_three_workloads_deploy_side_by_side(dev: Evaluation, three: Evaluation) -> None:
    """Nothing serialises one workload behind another: the up takes no longer than with one workload."""
    assert max(end for _, end in schedule(three).values()) <= max(end for _, end in schedule(dev).values())


def with_entry(key: str, index: int, **fields: Any) -> dict[str, Any]:
    config = copy.deepcopy(THREE_WORKLOADS)
    config[key][index] |= fields
    return config


def without(key: str, index: int, field: str) -> dict[str, Any]:
    config = copy.deepcopy(THREE_WORKLOADS)
    del config[key][index][field]
    return config


BAD = {
    "two workloads with one name": (
        with_entry("workloads", 1, name="orders"),
        "config 'workloads[1].name': 'orders' is listed twice",
    ),
    "one ServiceAccount for two workloads": (
        with_entry("workloads", 1, serviceAccount="orders"),
        "config 'workloads[1].serviceAccount': shop/orders is already workload 'orders''s",
    ),
    "an unknown secret": (
        with_entry("workloads", 2, secrets=["orders-db", "no-such-secret"]),
        "config 'workloads[2].secrets': 'no-such-secret' is not in 'secrets'",
    ),
    "a workload name that is no DNS label": (
        with_entry("workloads", 0, name="Orders_App"),
        "config 'workloads[0].name': 'Orders_App' is not a DNS-1123 label of at most 20 characters",
    ),
    "a workload name too long for its identity and Jobs": (
        with_entry("workloads", 0, name="a" * 21),
        "is not a DNS-1123 label of at most 20 characters",
    ),
    "a namespace that is no DNS label": (
        with_entry("workloads", 0, namespace="Shop"),
        "config 'workloads[0].namespace': 'Shop' is not a DNS-1123 label",
    ),
    "a system namespace": (
        with_entry("workloads", 0, namespace="kube-system"),
        "config 'workloads[0].namespace': 'kube-system' is a system namespace",
    ),
    "a workload without its ServiceAccount": (
        without("workloads", 0, "serviceAccount"),
        "config 'workloads[0].serviceAccount': is missing",
    ),
    "no secrets": (
        with_entry("workloads", 0, secrets=[]),
        "config 'workloads[0].secrets': must be a non-empty list of secret names",
    ),
    "an unknown delivery": (
        with_entry("workloads", 0, delivery="env"),
        "config 'workloads[0].delivery': 'env' is not one of sdk, csi, both, none",
    ),
    "an unknown field": (
        with_entry("workloads", 0, serviceaccount="orders"),
        "config 'workloads[0].serviceaccount': is not a field",
    ),
    "two secrets with one name": (
        with_entry("secrets", 1, name="orders-db"),
        "config 'secrets[1].name': 'orders-db' is listed twice",
    ),
    "a secret name Key Vault refuses": (
        with_entry("secrets", 0, name="orders_db"),
        "config 'secrets[0].name': 'orders_db' is not a Key Vault secret name",
    ),
    "a rotation no shorter than the expiry": (
        with_entry("secrets", 1, rotationDays=90),
        "config 'secrets[1].rotationDays': is 90, not less than the expiry (90 days)",
    ),
    "a value from a key the stack does not set": (
        with_entry("secrets", 0, valueFrom="ordersDbPassword"),
        "config 'secrets[0].valueFrom': names 'ordersDbPassword', which this stack does not set",
    ),
    "a single-workload key beside workloads": (
        {**THREE_WORKLOADS, "namespace": "team-a"},
        "config 'namespace': applies only without 'workloads', which this stack sets",
    ),
    "a single-secret key beside secrets": (
        {**THREE_WORKLOADS, "secretName": "old-secret"},
        "config 'secretName': applies only without 'secrets', which this stack sets",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_entry_is_refused_in_one_line_before_any_resource(case: str) -> None:
    config, message = BAD[case]
    with pytest.raises(EvaluationFailed) as raised:
        evaluate(config)
    error = str(raised.value.cause)
    assert message in error
    assert "\n" not in error
    assert " Fix: " in error
    assert raised.value.resources == []


def test_a_value_from_a_secret_config_key_is_the_secrets_value(three: Evaluation) -> None:
    config = with_entry("secrets", 0, valueFrom="ordersDbPassword")
    ev = evaluate(config, secrets={"ordersDbPassword": "from-a-secret-key-1"})
    secret = next(s for s in ev.of_type(t.SECRET) if s.inputs["secretName"] == "orders-db")
    assert secret.inputs["properties"]["value"] == "from-a-secret-key-1"
    # A Pulumi secret on the way in, and its fingerprint in every Job that expects it.
    assert is_secret(secret.raw_inputs["properties"])
    for job in [j for j in ev.of_type(t.JOB) if wiring._env(j).get("SECRET_NAME") == "orders-db"]:
        assert is_secret(job.raw_inputs["spec"]), job.name
    wiring.check_job_inputs(ev, {"orders-db": "from-a-secret-key-1"} | generated_values(ev))


def generated_values(ev: Evaluation) -> dict[str, str]:
    return {
        s.inputs["secretName"]: s.inputs["properties"]["value"]
        for s in ev.of_type(t.SECRET)
        if s.inputs["secretName"] != "orders-db"
    }


def test_a_single_workload_stack_keeps_its_identity_credential_grant_secret_and_namespace() -> None:
    """The state an `up` of the single-workload program (177a8f2) left; an `up` of this one takes over every
    Azure resource through aliases and replaces only what is named per workload in Kubernetes: the proof Jobs
    (which run again), the NetworkPolicies and the class. The ServiceAccount gains its instance label."""
    before = load(STATES / "dev-at-177a8f2.json")
    after = evaluate(prior=before)
    changes = after.changes(before)
    # The image is rebuilt whenever app/ changed since that state (its tag is the content's hash).
    rebuilt = "replace: create, environment, interpreter, triggers, update"
    assert changes.pop("app-image-acr-build", rebuilt) == rebuilt
    # Since 354a22b the commands run Python steps, not shell scripts (tests/stack/test_steps.py).
    for command in ("namespace-workload-identity-demo-rbac-ready", "demo-secret-provider-class-kind-ready"):
        assert changes.pop(command) == "update: create, interpreter"
    assert changes == {
        "demo-demo-secret-job": "create",
        "demo-demo-secret-file-job": "create",
        "demo-job": "delete",
        "demo-file-job": "delete",
        "demo-egress": "replace: metadata, spec",
        "demo-file-isolation": "replace: metadata, spec",
        "demo-secret-provider-class": "replace: metadata",
        "demo-sa": "update: metadata",
        "secret-store-demo-secret-salt": "create",
    }
    kept = {r.aliased_from: r for r in after.resources if r.aliased_from}
    for old in before.resources:
        if old.type in (t.IDENTITY, t.FEDERATED_CREDENTIAL, t.ROLE_ASSIGNMENT, t.SECRET, t.MANAGED_NAMESPACE):
            new = after.by_urn.get(old.urn) or kept[old.urn]
            assert new.id == old.id, old.name
            assert new.outputs == old.outputs, old.name
    # And the next up changes nothing.
    assert evaluate(prior=after).changes(after) == {}


def test_each_workload_is_proven_refused_a_secret_it_was_not_granted(three: Evaluation) -> None:
    secrets = {s.inputs["secretName"]: s for s in three.of_type(t.SECRET)}
    for w in wiring.workloads(three):
        spec = SPECS[w.name]
        (check,) = [j for j in w.jobs if j.name == f"{w.name}-isolation-job"]
        env = wiring._env(check)
        denied = next(s for s in SECRETS if s not in spec["secrets"])
        assert env["DENIED_SECRET_NAME"] == denied
        assert env["WORKLOAD_NAME"] == w.name
        assert env["DENIED_SECRET_OWNERS"] == ", ".join(n for n, s in SPECS.items() if denied in s["secrets"])
        assert env["SECRET_NAME"] in spec["secrets"], "it reads its own secret first"
        assert secrets[denied].urn in check.dependencies, "it checks a secret that exists"
        assert check.inputs["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"] == "true"
        assert (
            three.exports["workloads"][w.name]["isolation"] == f"refused {denied} (403 ForbiddenByRbac), checked at up"
        )


def test_a_workload_that_holds_every_secret_says_so_and_runs_no_check(dev: Evaluation) -> None:
    assert dev.exports["workloads"]["demo"]["isolation"] == "not checked: it holds every secret this stack lists"
    assert not [j for j in dev.of_type(t.JOB) if j.name.endswith("-isolation-job")]


def test_a_leaked_grant_is_caught_by_the_wiring_check() -> None:
    with pytest.raises(AssertionError, match=r"least privilege: orders may read \['payments-key'\]"):
        wiring.check_roles(evaluate(THREE_WORKLOADS, cut=LEAKED_GRANT))


@pytest.mark.parametrize("secret", SECRETS)
def test_a_secrets_name_reaches_every_consumer(three: Evaluation, secret: str) -> None:
    """The vault's secret, each reader's grant scope, each reader's Jobs, each reader's class: not only the first."""
    (stored,) = [s for s in three.of_type(t.SECRET) if s.inputs["secretName"] == secret]
    readers = [name for name, spec in SPECS.items() if secret in spec["secrets"]]
    for w in wiring.workloads(three):
        scopes = {g.inputs["scope"] for g in w.grants}
        assert (stored.id in scopes) == (w.name in readers), w.name
        jobs = [j for j in w.jobs if wiring._read_secret(j) == secret and not j.name.endswith("-isolation-job")]
        modes = {"sdk": 1, "csi": 1, "both": 2}[SPECS[w.name]["delivery"]]
        assert len(jobs) == (modes if w.name in readers else 0), w.name
        if w.secret_provider_class is not None:
            objects = w.secret_provider_class.inputs["spec"]["parameters"]["objects"]
            assert (f"objectName: {secret}\n" in objects) == (w.name in readers), w.name


# The shorthand stack's one workload, written as the lists (docs/workloads.md): same names everywhere.
AS_LISTS = {
    "secretDelivery": "sdk",  # its default: `pulumi config rm secretDelivery`, as the refusal says
    "secrets": [{"name": "demo-secret"}],
    "workloads": [
        {
            "name": "demo",
            "namespace": "workload-identity-demo",
            "serviceAccount": "keyvault-reader",
            "secrets": ["demo-secret"],
            "delivery": "both",
        }
    ],
}


@pytest.mark.parametrize("recorded", ["dev-at-354a22b.json", "dev-at-177a8f2.json"])
def test_moving_a_running_stack_to_the_lists_keeps_its_identity_credential_and_grant(recorded: str) -> None:
    """Under the same workload name, the identity keeps the name the shorthand gave it (`...-workload`, read
    from the stack's last outputs), so its client id, the credential and the grant stay."""
    before = load(STATES / recorded)
    after = evaluate(AS_LISTS, prior=before)
    kept = {r.aliased_from or r.urn: r for r in after.resources}
    for old in before.resources:
        if old.type in (t.IDENTITY, t.FEDERATED_CREDENTIAL, t.ROLE_ASSIGNMENT, t.SECRET):
            assert kept[old.urn].step in ("same", "update"), old.name
            assert kept[old.urn].id == old.id, old.name
    identity = after.one(t.IDENTITY)
    assert identity.inputs["resourceName"] == "id-wid-dev-workload"
    assert after.exports["workloads"]["demo"]["clientId"] == identity.outputs["clientId"]


def test_grants_of_workloads_whose_names_run_together_stay_apart() -> None:
    """`orders` + `api-key` and `orders-api` + `key`: with "-" between them both grants were
    `orders-api-key-secrets-user`, one URN for two resources (the engine's duplicate-URN error)."""
    entry = {"namespace": "shop", "delivery": "sdk"}
    config = {
        "secretDelivery": "sdk",  # its default: the lists hold the delivery
        "secrets": [{"name": "api-key"}, {"name": "key"}],
        "workloads": [
            {**entry, "name": "orders", "serviceAccount": "orders", "secrets": ["api-key"]},
            {**entry, "name": "orders-api", "serviceAccount": "api", "secrets": ["key"]},
        ],
    }
    grants = [g for g in evaluate(config).of_type(t.ROLE_ASSIGNMENT) if g.name.endswith("secrets-user")]
    assert sorted(g.name for g in grants) == ["orders-api.key-secrets-user", "orders.api-key-secrets-user"]
    assert len({g.urn for g in grants}) == 2


def test_a_stack_deployed_with_the_first_names_of_the_binding_keeps_its_grants() -> None:
    """Deployed at 8d217cb, when the binding named a grant `<workload>-<secret>-secrets-user`. Only the Jobs
    change: replaced once, for their podFailurePolicy (jobs.py), which Kubernetes does not change in place."""
    before = load(STATES / "dev-at-8d217cb.json")
    after = evaluate(prior=before)
    assert after.changes(before) == {t.SDK_JOB: "replace: spec", t.FILE_JOB: "replace: spec"}
    assert evaluate(prior=after).changes(after) == {}
