#!/usr/bin/env bash
# The whole test suite, offline and from a clean checkout: installs the locked toolchain into
# .venv (and checkov into .venv-checkov), runs every quality gate, then the tests. Extra
# arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
checkov_venv=.venv-checkov
manifests=build/manifests

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "test.sh: Python 3.11 or newer is needed as python3 (found $(python3 --version 2>&1))" >&2
  exit 1
fi
# pip installs uv from its lock; uv installs each other lock, every file checked against its
# hash, and removes whatever a lock no longer lists. With nothing to change it takes a second.
install_started=$SECONDS
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
uv_version=$(sed -n 's/^uv==\([^ ]*\) .*/\1/p' requirements-uv.txt)
if [ "$("$venv/bin/uv" --version 2>/dev/null)" != "uv $uv_version" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
    -r requirements-uv.txt
fi
"$venv/bin/uv" pip sync --quiet --python "$venv/bin/python" --require-hashes requirements-dev.txt
if [ ! -x "$checkov_venv/bin/python" ]; then "$venv/bin/uv" venv --quiet --python python3 "$checkov_venv"; fi
"$venv/bin/uv" pip sync --quiet --python "$checkov_venv/bin/python" --require-hashes requirements-checkov.txt
echo "== install the locks: $((SECONDS - install_started)) s"
export PATH="$PWD/$venv/bin:$PATH"

# Bytecode is kept whatever the environment says: without it every process compiles all it imports
# again, about half of a first evaluation of the program. uv installs no bytecode, so each venv is
# compiled once per lock change (the stamp names the locks' digest). azure-native's 6,000 modules are
# left to their first import, which compiles the few hundred the program uses (the render gate).
unset PYTHONDONTWRITEBYTECODE
locks_digest=$(cat requirements-dev.txt requirements-checkov.txt | python -c \
  'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:16])')
compile_venvs() {
  local python site
  rm -f "$venv"/.bytecode-*
  for python in "$venv/bin/python" "$checkov_venv/bin/python"; do
    site=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    "$python" -m compileall -q -j 0 -x '/pulumi_azure_native/' "$site" >/dev/null
  done
  touch "$venv/.bytecode-$locks_digest"
}

gate() { # gate NAME COMMAND...: runs it, says how long it took, returns its status
  local name=$1 started=$SECONDS status=0
  shift
  echo "== $name"
  "$@" || status=$?
  echo "== $name: $((SECONDS - started)) s"
  return "$status"
}

if [ ! -e "$venv/.bytecode-$locks_digest" ]; then gate "compile the venvs' bytecode" compile_venvs; fi
lint_gates() { # the quick checks of the sources and workflows
  gate "ruff check" ruff check . || return
  gate "ruff format" ruff format --check . || return
  gate "ty" ty check || return
  gate "shellcheck" shellcheck scripts/*.sh .ci/run || return
  gate "GitHub workflows against GitHub's schema" check-jsonschema --builtin-schema vendor.github-workflows \
    .github/workflows/*.yml || return
  gate "zizmor .github/workflows (offline, pedantic)" zizmor --offline --quiet --persona pedantic .github/workflows ||
    return
  gate "hadolint app/Dockerfile" hadolint app/Dockerfile
}

manifest_gates() { # the Kubernetes objects each stack declares, rendered from the program, then checked
  local stack_dir version manifest built_in custom
  rm -rf "$manifests"
  gate "render Kubernetes manifests" python -m tests.gates.render "$manifests" || return
  for stack_dir in "$manifests"/*/; do
    version=$(cat "$stack_dir/KUBERNETES_VERSION")
    # kubernetes-validate has schemas for Kubernetes' own kinds only; the CSI driver's kind has its CRD's.
    # (An array is expanded as ${a[@]+"${a[@]}"}: bash 3.2, macOS's, calls an empty one unbound under set -u.)
    built_in=()
    custom=()
    for manifest in "$stack_dir"*.yaml; do
      case $(basename "$manifest") in
        secretproviderclass-*) custom+=("$manifest") ;;
        *) built_in+=("$manifest") ;;
      esac
    done
    gate "kubernetes-validate --strict ${stack_dir} (Kubernetes $version)" \
      kubernetes-validate --strict --quiet --kubernetes-version "$version" ${built_in[@]+"${built_in[@]}"} || return
    if [ ${#custom[@]} -gt 0 ]; then
      gate "SecretProviderClass in ${stack_dir} against the driver's CRD schema" \
        check-jsonschema --schemafile tests/gates/schemas/secretproviderclass-v1.json ${custom[@]+"${custom[@]}"} ||
        return
    fi
  done
  # One run for both: each checkov start costs seconds.
  gate "checkov app/Dockerfile and the manifests" "$checkov_venv/bin/checkov" --config-file .checkov.yaml \
    --framework dockerfile kubernetes -d app -d "$manifests"
}

# Two lanes side by side (they share no file and time nothing); the lint lane's output follows the other's.
lint_log=$(mktemp)
lint_gates >"$lint_log" 2>&1 &
lint_pid=$!
manifest_status=0
manifest_gates || manifest_status=$?
lint_status=0
wait "$lint_pid" || lint_status=$?
cat "$lint_log"
rm -f "$lint_log"
if [ "$lint_status" != 0 ] || [ "$manifest_status" != 0 ]; then exit 1; fi
# pytest alone: the app's tests bound how long a run takes, and a loaded machine would make them
# flaky. pytest itself uses every core; the tests that share a cut of the program run in
# one process (loadgroup), so each distinct evaluation runs once per run.
gate "pytest" python -m pytest --numprocesses auto --dist loadgroup "$@"
