"""A secret renamed away and back. The vault keeps a secret the stack stops declaring (retainOnDelete: its
delete would need the vault's data plane), so the name is taken when it comes back, and azure-native
refuses to create what exists. The stack remembers the names it left behind (its own last outputs,
`retiredSecretNames`) and adopts such a secret (`import`) instead of creating it."""

from __future__ import annotations

import pulumi
import pytest
from pulumi.runtime.invoke import InvokeResult

from tests.stack import constants as t
from tests.stack.harness import Evaluation, evaluate
from workload_id import history

SECRET = "secret-store-demo-secret-secret"


@pytest.fixture(scope="module")
def renamed() -> tuple[Evaluation, Evaluation]:
    first = evaluate()
    return first, evaluate({"secretName": "other-secret"}, prior=first)


def test_a_renamed_secret_stays_in_the_vault_and_is_remembered(renamed: tuple[Evaluation, Evaluation]) -> None:
    first, second = renamed
    old = first.named(SECRET)
    assert second.changes(first)[SECRET] == "delete"
    assert old.retain_on_delete
    assert second.world.get(old.id), "kept in the vault"
    assert second.exports["retiredSecretNames"] == ["demo-secret"]
    assert first.exports["retiredSecretNames"] == []


def test_a_secret_renamed_back_is_adopted_not_created(renamed: tuple[Evaluation, Evaluation]) -> None:
    first, second = renamed
    preview = evaluate(prior=second, preview=True)
    assert preview.changes(second)[SECRET] == "import"
    back = evaluate(prior=second)  # before: "cannot create already existing resource '.../secrets/demo-secret'"
    secret = back.named(SECRET)
    assert secret.id == first.named(SECRET).id
    assert secret.inputs["properties"]["value"] == back.named("secret-store-demo-secret-value").outputs["result"]
    assert back.exports["retiredSecretNames"] == ["other-secret"]
    assert evaluate(prior=back).changes(back) == {}, "adopted once: the next up is a no-op"


def test_a_new_name_is_created_even_when_the_stack_has_history(renamed: tuple[Evaluation, Evaluation]) -> None:
    _, second = renamed
    third = evaluate({"secretName": "third-secret"}, prior=second)
    assert third.changes(second)["secret-store-third-secret-secret"] == "create"
    assert sorted(third.exports["retiredSecretNames"]) == ["demo-secret", "other-secret"]
    assert [s.inputs["secretName"] for s in third.of_type(t.SECRET)] == ["third-secret"]


def test_a_file_backend_in_the_legacy_layout_is_read_by_the_bare_stack_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """The diy backend's legacy store parses stack names only (pulumi/pulumi pkg/backend/diy/store.go,
    legacyReferenceStore.ParseReference), so the qualified name fails there."""
    asked: list[str] = []

    def invoke(token: str, args: dict[str, str]) -> InvokeResult:
        assert token == history.READ_STACK_OUTPUTS
        asked.append(args["name"])
        if "/" in args["name"]:
            raise Exception("invalid stack name")
        return InvokeResult({"outputs": {"secretNames": ["a"]}})

    monkeypatch.setattr(pulumi.runtime, "invoke", invoke)
    monkeypatch.setattr(pulumi, "get_organization", lambda: "organization")
    monkeypatch.setattr(pulumi, "get_project", lambda: "proj")
    monkeypatch.setattr(pulumi, "get_stack", lambda: "dev")
    assert history.last_outputs() == {"secretNames": ["a"]}
    assert asked == ["organization/proj/dev", "dev"]


def test_a_new_vault_forgets_the_old_ones_secrets(renamed: tuple[Evaluation, Evaluation]) -> None:
    """Another namePrefix names another vault (a replacement): the names the old one kept are not in it,
    so a returning name is created, not imported from a vault that does not hold it."""
    _, second = renamed
    moved = evaluate({"namePrefix": "app"}, prior=second)
    assert moved.changes(second)[SECRET] == "create"
    assert moved.exports["retiredSecretNames"] == []
