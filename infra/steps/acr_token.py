"""imageBuilder=docker: checks the local prerequisites and prints a short-lived (about 3 h) Entra ID
access token for pushing to REGISTRY_NAME as the deployer. No admin user, no stored password.
Env: REGISTRY_NAME, SUBSCRIPTION_ID.
"""

from __future__ import annotations

import os
import sys

from steplib import fail, last_line, mode, need, run

TO_ACR = "pulumi config set imageBuilder acr"


def main() -> None:
    docker = need(
        "docker",
        "error: imageBuilder 'docker' needs the Docker CLI ('docker') on PATH.",
        f"Install Docker, or build remotely with ACR Tasks: {TO_ACR}",
    )
    if run(docker, "info").returncode != 0:
        fail(
            "error: imageBuilder 'docker' needs a running Docker daemon; 'docker info' cannot reach one.",
            f"Start Docker, or build remotely with ACR Tasks: {TO_ACR}",
        )
    az = need("az", "error: the Azure CLI ('az') is needed for a registry token (az acr login --expose-token).")
    login = run(
        az, "acr", "login",
        "--subscription", os.environ["SUBSCRIPTION_ID"],
        "--name", os.environ["REGISTRY_NAME"],
        "--expose-token", "--output", "tsv", "--query", "accessToken",
    )  # fmt: skip
    if login.returncode != 0:
        fail(f"error: 'az acr login' could not get a registry token: {last_line(login.stderr)}")
    sys.stdout.write(login.stdout)


if __name__ == "__main__":
    mode("token")
    main()
