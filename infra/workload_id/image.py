"""The demo image, built and pushed inside `pulumi up` by the configured builder.

Both builders tag the image with the content hash of the build context, so the image -
and through it the Job - changes exactly when a file that goes into the image changes.
Neither uses the registry's admin user: ACR Tasks runs as the deployer's Azure CLI login,
and the local Docker build pushes with a short-lived Entra ID token.
"""

from __future__ import annotations

import re
from pathlib import Path

import pulumi
import pulumi_command as command
import pulumi_docker_build as docker_build

from .build_context import image_tag
from .config import ImageBuilder
from .paths import from_working_dir, step
from .registry import ContainerRegistry

IMAGE_REPOSITORY = "keyvault-reader-demo"
# `az acr login --expose-token` tokens authenticate as this fixed user name.
ACR_TOKEN_USERNAME = "00000000-0000-0000-0000-000000000000"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def pinned_reference(login_server: str, tag: str, digest: str) -> str:
    """registry/repository:tag@digest - readable, and pinned by the digest."""
    digest = digest.strip()
    if not _DIGEST.match(digest):
        raise ValueError(f"the image build reported '{digest}', not a sha256 digest")
    return f"{login_server}/{IMAGE_REPOSITORY}:{tag}@{digest}"


class AppImage(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        builder: ImageBuilder,
        context_dir: Path,
        registry: ContainerRegistry,
        subscription_id: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("workloadid:build:AppImage", name, None, opts)
        self.tag = image_tag(context_dir)
        tag = self.tag
        context_path = from_working_dir(context_dir)
        # The Azure CLI may have another subscription selected than the one Pulumi deploys to.
        cli_env = {"REGISTRY_NAME": registry.name, "SUBSCRIPTION_ID": subscription_id}

        if builder == "acr":
            acr_build = command.local.Command(
                f"{name}-acr-build",
                interpreter=step("acr_build"),
                create="build",
                # A changed command (not content: that is a new tag, a replacement) re-reads the digest only.
                update="digest",
                environment={
                    **cli_env,
                    "IMAGE_REPOSITORY": IMAGE_REPOSITORY,
                    "IMAGE_TAG": tag,
                    "CONTEXT_DIR": context_path,
                },
                # Rebuild exactly when the content (hence the tag) or the registry changes.
                triggers=[tag, registry.login_server],
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.build: pulumi.Resource = acr_build
            self.ref = pulumi.Output.all(registry.login_server, acr_build.stdout).apply(
                lambda a: pinned_reference(a[0], tag, a[1])
            )
        else:
            # Fetched again whenever a push is due (same triggers as the image), held as a secret.
            token = command.local.Command(
                f"{name}-registry-token",
                interpreter=step("acr_token"),
                create="token",
                environment=cli_env,
                triggers=[tag, registry.login_server],
                logging=command.local.Logging.STDERR,
                opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["stdout"]),
            )
            image = docker_build.Image(
                f"{name}-docker-build",
                tags=[pulumi.Output.concat(registry.login_server, f"/{IMAGE_REPOSITORY}:{tag}")],
                context={"location": context_path},
                dockerfile={"location": f"{context_path}/Dockerfile"},
                platforms=[docker_build.Platform.LINUX_AMD64],
                push=True,
                build_on_preview=False,
                registries=[
                    {
                        "address": registry.login_server,
                        "username": ACR_TOKEN_USERNAME,
                        "password": pulumi.Output.secret(token.stdout),
                    }
                ],
                # Pushed tags stay until the registry goes: deleting them would need a fresh token.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
            self.build = image
            self.ref = image.ref

        self.register_outputs({"tag": self.tag, "ref": self.ref})
