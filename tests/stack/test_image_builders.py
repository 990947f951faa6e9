"""Both image builders: content-addressed, no admin credentials, minimal blast radius."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.stack import constants as t
from tests.stack.harness import PROGRAM_DIR, Evaluation, Registered, evaluate, is_secret

BUILDERS = ["acr", "docker"]


def build_of(ev: Evaluation) -> Registered:
    (build,) = [
        r
        for r in ev.resources
        if r.name.startswith("app-image-") and r.type in (t.COMMAND, t.DOCKER_IMAGE) and "token" not in r.name
    ]
    return build


def job_image(ev: Evaluation) -> str:
    (container,) = ev.one(t.JOB, t.SDK_JOB).inputs["spec"]["template"]["spec"]["containers"]
    return container["image"]


def changed_urns(before: Evaluation, after: Evaluation) -> set[str]:
    old, new = before.inputs_by_urn(), after.inputs_by_urn()
    assert old.keys() == new.keys(), "an app change must not add or remove resources"
    return {urn for urn in old if old[urn] != new[urn]}


@pytest.mark.parametrize("builder", BUILDERS)
def test_job_runs_the_image_this_stack_built_and_waits_for_it(builder: str) -> None:
    ev = evaluate({"imageBuilder": builder})
    build, registry, job = build_of(ev), ev.one(t.REGISTRY), ev.one(t.JOB, t.SDK_JOB)
    image = job_image(ev)
    assert image == ev.exports["image"]
    assert image.startswith(f"{registry.outputs['loginServer']}/keyvault-reader-demo:")
    tag = image.split(":", 1)[1].split("@")[0]
    assert len(tag) == 16
    assert tag != "latest"
    assert "@sha256:" in image
    assert build.urn in job.dependencies


@pytest.mark.parametrize("builder", BUILDERS)
def test_no_admin_credentials_anywhere(builder: str) -> None:
    ev = evaluate({"imageBuilder": builder})
    assert ev.one(t.REGISTRY).inputs["adminUserEnabled"] is False
    assert not [call for call in ev.invokes if "listRegistryCredentials" in call or "RegistryCredentials" in call]


def test_acr_builder_runs_acr_tasks_with_the_content_tag() -> None:
    ev = evaluate({"imageBuilder": "acr"})
    build, registry = build_of(ev), ev.one(t.REGISTRY)
    assert build.type == t.COMMAND
    assert build.inputs["interpreter"][1:] == ["steps/acr_build.py"]
    # Built on create; a changed command alone (the same content, the same tag) re-reads the digest.
    assert (build.inputs["create"], build.inputs["update"]) == ("build", "digest")
    env = build.inputs["environment"]
    assert env["SUBSCRIPTION_ID"] == "00000000-1111-2222-3333-444444444444"
    assert env["REGISTRY_NAME"] == registry.outputs["name"]
    assert env["CONTEXT_DIR"] == "../app", "a relative path: no input may depend on the checkout location"
    assert build.inputs["triggers"] == [env["IMAGE_TAG"], registry.outputs["loginServer"]]
    assert not [r for r in ev.of_type(t.DOCKER_IMAGE)]


def test_docker_builder_pushes_with_a_short_lived_entra_token_held_as_a_secret() -> None:
    ev = evaluate({"imageBuilder": "docker"})
    image, registry = ev.one(t.DOCKER_IMAGE), ev.one(t.REGISTRY)
    token = ev.named("app-image-registry-token")
    assert token.inputs["interpreter"][1:] == ["steps/acr_token.py"]
    assert token.inputs["create"] == "token"
    assert token.inputs["environment"]["SUBSCRIPTION_ID"] == "00000000-1111-2222-3333-444444444444"
    assert "stdout" in token.additional_secret_outputs
    (credentials,) = image.inputs["registries"]
    assert credentials["address"] == registry.outputs["loginServer"]
    assert credentials["username"] == "00000000-0000-0000-0000-000000000000"
    assert credentials["password"] == token.outputs["stdout"]
    assert is_secret(image.raw_inputs["registries"]), "the registry token must be a secret"
    # A new token is fetched whenever a push is due: same content tag as the image.
    tag = image.inputs["tags"][0].rsplit(":", 1)[1]
    assert token.inputs["triggers"] == [tag, registry.outputs["loginServer"]]
    assert image.inputs["push"] is True
    assert image.inputs["buildOnPreview"] is False
    assert image.inputs["context"] == {"location": "../app"}
    assert image.inputs["platforms"] == ["linux/amd64"]


@pytest.mark.parametrize("builder", BUILDERS)
def test_build_runs_beside_the_cluster_and_needs_only_the_registry(builder: str) -> None:
    ev = evaluate({"imageBuilder": builder})
    build, cluster, registry = build_of(ev), ev.one(t.CLUSTER), ev.one(t.REGISTRY)
    assert not ev.depends_transitively(build, cluster)
    assert not ev.depends_transitively(cluster, build)
    assert ev.depends_transitively(build, registry)
    for other in (t.VAULT, t.SECRET, t.IDENTITY, t.MANAGED_NAMESPACE):
        assert not ev.depends_transitively(build, ev.one(other)), other


@pytest.mark.parametrize("builder", BUILDERS)
def test_tag_is_stable_and_changes_with_an_app_file(
    builder: str, project_copy: Path, evaluate_copy: Callable[..., Evaluation]
) -> None:
    config = {"imageBuilder": builder}
    first, second = evaluate_copy(config), evaluate_copy(config)
    assert job_image(first) == job_image(second)
    source = project_copy / "app" / "read_secret" / "cli.py"
    source.write_text(source.read_text() + "\n# a change to the app\n")
    assert job_image(evaluate_copy(config)) != job_image(first)


@pytest.mark.parametrize("builder", BUILDERS)
def test_an_app_change_touches_only_the_build_and_the_job(
    builder: str, project_copy: Path, evaluate_copy: Callable[..., Evaluation]
) -> None:
    config = {"imageBuilder": builder}
    before = evaluate_copy(config)
    source = project_copy / "app" / "read_secret" / "cli.py"
    source.write_text(source.read_text() + "\n# a change to the app\n")
    after = evaluate_copy(config)
    changed = {after.by_urn[urn].name for urn in changed_urns(before, after)}
    expected = (
        {"demo-demo-secret-job", "demo-demo-secret-file-job", "app-image-acr-build"}
        if builder == "acr"
        else {
            "demo-demo-secret-job",
            "demo-demo-secret-file-job",
            "app-image-docker-build",
            "app-image-registry-token",
        }
    )
    assert changed == expected


@pytest.mark.parametrize("builder", BUILDERS)
def test_files_outside_the_build_context_change_nothing(
    builder: str, project_copy: Path, evaluate_copy: Callable[..., Evaluation]
) -> None:
    config = {"imageBuilder": builder}
    before = evaluate_copy(config)
    ignored = project_copy / "app" / "README.md"
    ignored.write_text(ignored.read_text() + "\nedited docs\n")
    (project_copy / "app" / "__pycache__").mkdir(exist_ok=True)
    (project_copy / "app" / "__pycache__" / "read_secret.cpython-311.pyc").write_bytes(b"\x00bytecode")
    assert changed_urns(before, evaluate_copy(config)) == set()


@pytest.mark.parametrize("builder", BUILDERS)
def test_two_evaluations_declare_identical_inputs(builder: str) -> None:
    """A second `pulumi up` with no change is a no-op: nothing varies between evaluations."""
    config = {"imageBuilder": builder, "monitoring": True}
    first, second = evaluate(config, fresh=True), evaluate(config, fresh=True)
    assert sorted(r.urn for r in first.resources) == sorted(r.urn for r in second.resources)
    assert first.inputs_by_urn() == second.inputs_by_urn()
    assert first.exports == second.exports


def test_local_paths_resolve_in_the_working_directory_pulumi_gives_the_plugins() -> None:
    """Commands and the Docker context resolve against the directory Pulumi starts the program, and
    its plugins, in: the program directory (`main: infra/`), where the harness starts it too."""
    acr, docker = evaluate({"imageBuilder": "acr"}), evaluate({"imageBuilder": "docker"})
    assert build_of(acr).inputs["environment"]["CONTEXT_DIR"] == "../app"
    assert docker.one(t.DOCKER_IMAGE).inputs["context"] == {"location": "../app"}
    assert docker.one(t.DOCKER_IMAGE).inputs["dockerfile"] == {"location": "../app/Dockerfile"}
    for command in acr.of_type(t.COMMAND) + docker.of_type(t.COMMAND):
        python, step = command.inputs["interpreter"]
        assert (PROGRAM_DIR / step).is_file(), step
        assert (PROGRAM_DIR / python).samefile(sys.executable), python


def test_pushed_images_are_kept_on_destroy_since_deleting_tags_needs_a_fresh_token() -> None:
    assert evaluate({"imageBuilder": "docker"}).one(t.DOCKER_IMAGE).retain_on_delete is True
