#!/bin/sh
# imageBuilder=acr: builds the context with ACR Tasks (no local Docker needed), pushes
# REGISTRY_NAME/IMAGE_REPOSITORY:IMAGE_TAG and prints only the pushed image's digest.
# Env: REGISTRY_NAME, SUBSCRIPTION_ID, IMAGE_REPOSITORY, IMAGE_TAG, CONTEXT_DIR.
set -eu

if ! command -v az >/dev/null 2>&1; then
  echo "error: imageBuilder 'acr' needs the Azure CLI ('az') on PATH to run ACR Tasks." >&2
  echo "Install the Azure CLI, or build locally with Docker: pulumi config set imageBuilder docker" >&2
  exit 127
fi

# `az acr build` streams the run log on stdout and returns nothing parseable: the log goes
# to stderr for the user, and the digest is asked for afterwards.
if ! az acr build \
  --subscription "$SUBSCRIPTION_ID" \
  --registry "$REGISTRY_NAME" \
  --image "$IMAGE_REPOSITORY:$IMAGE_TAG" \
  --file "$CONTEXT_DIR/Dockerfile" \
  --platform linux/amd64 \
  "$CONTEXT_DIR" >&2; then
  echo "error: the ACR Tasks build failed (see above). If Azure answered TasksOperationsNotAllowed," >&2
  echo "this subscription may not run ACR Tasks; build locally instead: pulumi config set imageBuilder docker" >&2
  exit 1
fi

digest=$(az acr repository show \
  --subscription "$SUBSCRIPTION_ID" \
  --name "$REGISTRY_NAME" \
  --image "$IMAGE_REPOSITORY:$IMAGE_TAG" \
  --query digest --output tsv)
case "$digest" in
  sha256:*) printf '%s\n' "$digest" ;;
  *)
    echo "error: ACR reported no image digest for $IMAGE_REPOSITORY:$IMAGE_TAG (got '$digest')" >&2
    exit 1
    ;;
esac
