#!/usr/bin/env bash
# Installs what scripts/check-deploy.sh needs to validate deploy/, docker/ and
# terraform/ without a cluster, into a cache outside the repository, skipping
# whatever is already there (safe to run again; a warm run takes a second):
#
#   $CACHE/venv      Python venv (Debian's python3): helm-python-sdk (Helm's
#                    own Go engine, v4, as a shared library: renders and lints
#                    the chart), kubernetes-validate (Kubernetes OpenAPI
#                    schemas, shipped offline), yamllint, checkov,
#                    promql-parser (parses every alert and autoscaler query)
#   $CACHE/hcl-venv  python-hcl2, in a venv of its own: checkov ships a fork
#                    that installs the same `hcl2` module
#   $CACHE/node      @kubernetes-models/prometheus-operator and
#                    @kubernetes-models/keda from the npm registry: the
#                    upstream CRD schemas of ServiceMonitor, PrometheusRule
#                    and ScaledObject
#
# CACHE is $MOLBATCH_DEPLOY_TOOLS, or ${XDG_CACHE_HOME:-$HOME/.cache}/molbatch/deploy-tools.
# Also needed, from the machine: kubectl (kustomize) and terraform (fmt);
# python3-venv, nodejs and npm are installed from Debian when missing.
set -euo pipefail

# CI may run without HOME; pip, npm and the cache path need one.
export HOME="${HOME:-$(cd ~ && pwd)}"
CACHE="${MOLBATCH_DEPLOY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/molbatch/deploy-tools}"

# Pinned, so every machine validates with the same engines and schemas.
PY_TOOLS=(
  "helm-python-sdk==0.2.2"
  "kubernetes-validate==1.37.0"
  "yamllint==1.38.0"
  "checkov==3.3.30"
  "promql-parser==0.12.0"
)
HCL_TOOLS=("python-hcl2==8.1.4")
NODE_TOOLS=(
  "@kubernetes-models/prometheus-operator@6.0.0"
  "@kubernetes-models/keda@2.0.0"
)

sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    $sudo_cmd apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "$@"
}

# --- what must come from the machine ----------------------------------------
for tool in kubectl terraform; do
  if ! command -v "$tool" >/dev/null; then
    echo "install-deploy-tools: $tool is missing: it comes with the machine image (kubectl for kustomize, terraform for fmt)" >&2
    exit 1
  fi
done

# --- Python: Debian's python3 with venv ---------------------------------------
python=/usr/bin/python3
if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
  echo "install-deploy-tools: installing python3-venv"
  apt_install python3-venv
fi

# make_venv DIR STAMP PACKAGES...: (re)creates DIR unless its stamp lists
# exactly PACKAGES.
make_venv() {
  local dir="$1"
  shift
  local want="$*"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.molbatch-stamp" 2>/dev/null)" = "$want" ]; then
    echo "install-deploy-tools: $dir is up to date ($want)"
    return
  fi
  echo "install-deploy-tools: installing $want into $dir"
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check --no-input "$@"
  echo "$want" > "$dir/.molbatch-stamp"
}

mkdir -p "$CACHE"
make_venv "$CACHE/venv" "${PY_TOOLS[@]}"
make_venv "$CACHE/hcl-venv" "${HCL_TOOLS[@]}"

# --- Node: upstream CRD schemas -------------------------------------------------
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install-deploy-tools: installing nodejs and npm"
  apt_install nodejs npm
fi
node_dir="$CACHE/node"
if [ -d "$node_dir/node_modules/@kubernetes-models/keda" ] &&
  [ "$(cat "$node_dir/.molbatch-stamp" 2>/dev/null)" = "${NODE_TOOLS[*]}" ]; then
  echo "install-deploy-tools: $node_dir is up to date (${NODE_TOOLS[*]})"
else
  echo "install-deploy-tools: installing ${NODE_TOOLS[*]} into $node_dir"
  rm -rf "$node_dir"
  mkdir -p "$node_dir"
  echo '{"name": "molbatch-deploy-tools", "private": true}' > "$node_dir/package.json"
  (cd "$node_dir" && npm install --silent --no-audit --no-fund --no-update-notifier "${NODE_TOOLS[@]}")
  echo "${NODE_TOOLS[*]}" > "$node_dir/.molbatch-stamp"
fi

# --- smoke test: each tool answers -------------------------------------------
"$CACHE/venv/bin/python" -c 'import helm_python, kubernetes_validate, promql_parser; print("install-deploy-tools: helm", helm_python.helm_sdk_version(), "engine ready")'
"$CACHE/venv/bin/checkov" --version > /dev/null
"$CACHE/venv/bin/yamllint" --version > /dev/null
"$CACHE/hcl-venv/bin/python" -c 'import hcl2' 
echo "install-deploy-tools: deploy tools ready in $CACHE"
