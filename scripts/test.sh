#!/usr/bin/env bash
# The whole test suite, offline and from a clean checkout: installs the toolchain into
# .venv (and checkov into .venv-checkov) when the requirements change, runs every quality
# gate, then the tests. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
checkov_venv=.venv-checkov
manifests=build/manifests

install() { # install VENV REQUIREMENTS [MORE FILES IT DEPENDS ON...]
  local venv=$1 requirements=$2 stamp=$1/.requirements.sha256 wanted
  shift
  wanted=$(cat "$@" | sha256sum)
  if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    echo "== installing $requirements into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade 'pip>=24,<27'
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
    echo "$wanted" >"$stamp"
  fi
}

# The app's locked versions, without hashes, as constraints for the dev install.
mkdir -p build
sed -e '/^ *--hash=/d' -e 's/ *\\$//' app/requirements.txt >build/app-constraints.txt
install "$venv" requirements-dev.txt requirements.txt app/requirements.in build/app-constraints.txt
install "$checkov_venv" requirements-checkov.txt
export PATH="$PWD/$venv/bin:$PATH"

gate() { # gate NAME COMMAND...
  local name=$1
  shift
  echo "== $name"
  "$@"
}

gate "ruff check" ruff check .
gate "ruff format" ruff format --check .
gate "pyright" pyright
gate "shellcheck" shellcheck infra/scripts/*.sh scripts/*.sh .ci/run
gate "hadolint app/Dockerfile" hadolint app/Dockerfile
gate "checkov app/Dockerfile" "$checkov_venv/bin/checkov" --config-file .checkov.yaml --framework dockerfile -f app/Dockerfile
rm -rf "$manifests"
gate "render Kubernetes manifests" python -m tests.gates.render "$manifests"
for stack_dir in "$manifests"/*/; do
  version=$(cat "$stack_dir/KUBERNETES_VERSION")
  gate "kubernetes-validate --strict ${stack_dir} (Kubernetes $version)" \
    kubernetes-validate --strict --quiet --kubernetes-version "$version" "$stack_dir"*.yaml
done
gate "checkov Kubernetes manifests" "$checkov_venv/bin/checkov" --config-file .checkov.yaml --framework kubernetes -d "$manifests"
# On every core: the program is evaluated a few hundred times under the emulated engine.
gate "pytest" python -m pytest --numprocesses auto "$@"
