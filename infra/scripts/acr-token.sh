#!/bin/sh
# imageBuilder=docker: checks the local prerequisites and prints a short-lived (about 3 h)
# Entra ID access token for pushing to REGISTRY_NAME as the deployer. No admin user, no
# stored password. Env: REGISTRY_NAME, SUBSCRIPTION_ID.
set -eu

if ! command -v docker >/dev/null 2>&1; then
  echo "error: imageBuilder 'docker' needs the Docker CLI ('docker') on PATH." >&2
  echo "Install Docker, or build remotely with ACR Tasks: pulumi config set imageBuilder acr" >&2
  exit 127
fi
if ! docker info >/dev/null 2>&1; then
  echo "error: imageBuilder 'docker' needs a running Docker daemon; 'docker info' cannot reach one." >&2
  echo "Start Docker, or build remotely with ACR Tasks: pulumi config set imageBuilder acr" >&2
  exit 1
fi
if ! command -v az >/dev/null 2>&1; then
  echo "error: the Azure CLI ('az') is needed for a registry token (az acr login --expose-token)." >&2
  exit 127
fi

az acr login --subscription "$SUBSCRIPTION_ID" --name "$REGISTRY_NAME" --expose-token --output tsv --query accessToken
