#!/bin/sh
# imageBuilder=acr: builds the context with ACR Tasks (no local Docker needed), pushes
# REGISTRY_NAME/IMAGE_REPOSITORY:IMAGE_TAG and prints only the pushed image's digest.
# Env: REGISTRY_NAME, IMAGE_REPOSITORY, IMAGE_TAG, CONTEXT_DIR.
set -eu

if ! command -v az >/dev/null 2>&1; then
  echo "error: imageBuilder 'acr' needs the Azure CLI ('az') on PATH to run ACR Tasks." >&2
  echo "Install the Azure CLI, or build locally with Docker: pulumi config set imageBuilder docker" >&2
  exit 127
fi

# az may stream the build log on stdout; it goes to stderr, the last line (the digest) to stdout.
output=$(mktemp)
trap 'rm -f "$output"' EXIT
if ! az acr build \
  --registry "$REGISTRY_NAME" \
  --image "$IMAGE_REPOSITORY:$IMAGE_TAG" \
  --file "$CONTEXT_DIR/Dockerfile" \
  --platform linux/amd64 \
  --query "outputImages[0].digest" --output tsv \
  "$CONTEXT_DIR" >"$output"; then
  cat "$output" >&2
  echo "error: the ACR Tasks build failed (see above). If Azure answered TasksOperationsNotAllowed," >&2
  echo "this subscription may not run ACR Tasks; build locally instead: pulumi config set imageBuilder docker" >&2
  exit 1
fi
sed '$d' "$output" >&2
digest=$(tail -n 1 "$output")

case "$digest" in
  sha256:*) printf '%s\n' "$digest" ;;
  *)
    echo "error: ACR reported no image digest for $IMAGE_REPOSITORY:$IMAGE_TAG (got '$digest')" >&2
    exit 1
    ;;
esac
