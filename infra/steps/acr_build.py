"""imageBuilder=acr: builds the context with ACR Tasks (no local Docker needed), pushes
REGISTRY_NAME/IMAGE_REPOSITORY:IMAGE_TAG and prints only the pushed image's digest.

Modes: `build` (create) builds, then reads the digest; `digest` (update: the command changed, not the
content) only reads the digest of the tag already pushed, so the image, and the Jobs that use it, stay.
Env: REGISTRY_NAME, SUBSCRIPTION_ID, IMAGE_REPOSITORY, IMAGE_TAG, CONTEXT_DIR.
"""

from __future__ import annotations

import os
import sys

from steplib import fail, mode, need, run

TO_DOCKER = "pulumi config set imageBuilder docker"


def build(az: str, image: str) -> None:
    context = os.environ["CONTEXT_DIR"]
    # `az acr build` streams the run log on stdout and returns nothing parseable: the log goes to
    # stderr, for the user to read, and the digest is asked for afterwards.
    built = run(
        az, "acr", "build",
        "--subscription", os.environ["SUBSCRIPTION_ID"],
        "--registry", os.environ["REGISTRY_NAME"],
        "--image", image,
        "--file", f"{context}/Dockerfile",
        "--platform", "linux/amd64",
        context,
    )  # fmt: skip
    sys.stderr.write(built.stdout + built.stderr)
    if built.returncode != 0:
        fail(
            "error: the ACR Tasks build failed (see above). If Azure answered TasksOperationsNotAllowed,",
            f"this subscription may not run ACR Tasks; build locally instead: {TO_DOCKER}",
        )


def digest(az: str, image: str) -> str:
    shown = run(
        az, "acr", "repository", "show",
        "--subscription", os.environ["SUBSCRIPTION_ID"],
        "--name", os.environ["REGISTRY_NAME"],
        "--image", image,
        "--query", "digest", "--output", "tsv",
    )  # fmt: skip
    found = shown.stdout.strip()
    if shown.returncode != 0 or not found.startswith("sha256:"):
        sys.stderr.write(shown.stderr)
        fail(f"error: ACR reported no image digest for {image} (got '{found}')")
    return found


def main(mode: str) -> None:
    az = need(
        "az",
        "error: imageBuilder 'acr' needs the Azure CLI ('az') on PATH to run ACR Tasks.",
        f"Install the Azure CLI, or build locally with Docker: {TO_DOCKER}",
    )
    image = f"{os.environ['IMAGE_REPOSITORY']}:{os.environ['IMAGE_TAG']}"
    if mode == "build":
        build(az, image)
    print(digest(az, image))


if __name__ == "__main__":
    main(mode("build", "digest"))
