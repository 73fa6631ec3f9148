#!/usr/bin/env bash
# Validates the deployment files without a cluster (make deploy-check):
#
#   1. renders the Helm chart deploy/helm/molbatch with Helm's own engine
#      (helm lint --strict, values.schema.json) for its default values and for
#      every values file under deploy/helm/molbatch/ci/ (KEDA, HPA)
#   2. builds the kustomize base and the dev and prod overlays (kubectl kustomize)
#   3. validates every rendered object: built-in kinds against the Kubernetes
#      OpenAPI schemas (strict: unknown fields fail) of the oldest supported
#      and the EKS version; ServiceMonitor, PrometheusRule and ScaledObject
#      against their upstream CRD schemas; every PromQL expression parsed
#   4. checks the generated kustomize base is what the chart renders today
#   5. yamllint on Chart.yaml, the values files and the kustomize tree
#   6. checkov on the rendered manifests, docker/Dockerfile and terraform/:
#      no failed check at all (skips only in deploy/.checkov.yaml or next to
#      the resource, each with its reason: "# checkov:skip=" in terraform,
#      a checkov.io/skipN annotation in the chart)
#   7. terraform fmt -check -recursive, and every .tf parsed with python-hcl2
#      (variables described and typed, outputs, references declared)
#   8. the Dockerfile builds binaries that exist in the workspace
#
# Needs scripts/install-deploy-tools.sh first. Fails on the first problem.
set -euo pipefail
cd "$(dirname "$0")/.."

# CI may run without HOME; pip, npm and the cache path need one.
export HOME="${HOME:-$(cd ~ && pwd)}"
CACHE="${MOLBATCH_DEPLOY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/molbatch/deploy-tools}"
PY="$CACHE/venv/bin/python"
HCL_PY="$CACHE/hcl-venv/bin/python"
NODE_MODULES="$CACHE/node/node_modules"
# Oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the one
# terraform/ deploys.
KUBE_VERSIONS="${KUBE_VERSIONS:-1.27,1.33}"
CHART=deploy/helm/molbatch

if [ ! -x "$PY" ] || [ ! -x "$HCL_PY" ] || [ ! -d "$NODE_MODULES" ]; then
  echo "check-deploy: tools missing under $CACHE: run scripts/install-deploy-tools.sh" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rendered"
started=$SECONDS
step() { printf '\n== %s\n' "$*"; }
fail() {
  echo "check-deploy: FAILED: $*" >&2
  exit 1
}

step "1. helm: lint, schema and render $CHART"
"$PY" deploy/tools/render_chart.py "$CHART" "$work/rendered/helm-default.yaml" ||
  fail "chart with default values"
for values in "$CHART"/ci/*-values.yaml; do
  name="$(basename "$values" -values.yaml)"
  "$PY" deploy/tools/render_chart.py "$CHART" "$work/rendered/helm-$name.yaml" -f "$values" \
    --name "batch-$name" --namespace "chem-$name" || fail "chart with $values"
done

step "2. kustomize: base, overlays/dev, overlays/prod"
for dir in deploy/k8s/base deploy/k8s/overlays/dev deploy/k8s/overlays/prod; do
  name="kustomize-$(basename "$dir")"
  kubectl kustomize "$dir" > "$work/rendered/$name.yaml" || fail "kubectl kustomize $dir"
  echo "$dir -> $(grep -c '^kind:' "$work/rendered/$name.yaml") objects"
done

step "3. schemas: Kubernetes $KUBE_VERSIONS (strict) and upstream CRDs; PromQL"
"$PY" deploy/tools/validate_manifests.py --kube-versions "$KUBE_VERSIONS" \
  --node-modules "$NODE_MODULES" "$work"/rendered/*.yaml > "$work/validate.log" || {
  grep -v '^ok ' "$work/validate.log"
  fail "schema validation"
}
grep '^ok ' "$work/validate.log" | awk '{print $2}' | sort | uniq -c | sed 's/^/  /'
tail -n 1 "$work/validate.log"

step "4. kustomize base is the chart rendered with deploy/k8s/base/chart-values.yaml"
"$PY" deploy/tools/render_chart.py "$CHART" "$work/base.yaml" -f deploy/k8s/base/chart-values.yaml \
  --kustomize-base > /dev/null || fail "rendering the kustomize base"
if ! diff -u deploy/k8s/base/molbatch.yaml "$work/base.yaml"; then
  fail "deploy/k8s/base/molbatch.yaml is stale: regenerate it with
  $PY deploy/tools/render_chart.py $CHART deploy/k8s/base/molbatch.yaml -f deploy/k8s/base/chart-values.yaml --kustomize-base"
fi
echo "deploy/k8s/base/molbatch.yaml is up to date"

step "5. yamllint (deploy/.yamllint.yaml, warnings are errors)"
yaml_files=("$CHART/Chart.yaml" "$CHART/values.yaml" "$CHART"/ci/*.yaml deploy/.yamllint.yaml deploy/.checkov.yaml)
while IFS= read -r file; do yaml_files+=("$file"); done < <(find deploy/k8s -name '*.yaml' | sort)
"$CACHE/venv/bin/yamllint" -c deploy/.yamllint.yaml --strict "${yaml_files[@]}" || fail "yamllint"
echo "${#yaml_files[@]} YAML files clean"

step "6. checkov (deploy/.checkov.yaml): rendered manifests, Dockerfile, terraform"
checkov_run() {
  local what="$1"
  shift
  local log="$work/checkov-$what.log"
  if ! "$CACHE/venv/bin/checkov" --config-file deploy/.checkov.yaml "$@" > "$log" 2>&1; then
    cat "$log"
    fail "checkov found problems in the $what"
  fi
  printf '  %-22s %s\n' "$what:" "$(grep -E '^Passed checks' "$log" | tr '\n' ' ')"
}
checkov_run "rendered manifests" --framework kubernetes -d "$work/rendered"
checkov_run "Dockerfile" --framework dockerfile -f docker/Dockerfile
checkov_run "terraform" --framework terraform -d terraform
echo "  skipped everywhere (reasons in deploy/.checkov.yaml):" \
  "$(grep -E '^  - CKV' deploy/.checkov.yaml | awk '{print $2}' | tr '\n' ' ')"
grep -rhoE 'checkov:skip=[A-Z0-9_]+:.*' terraform | sed 's/^checkov:skip=/  skipped on one resource: /'
grep -rhoE 'checkov.io/skip[0-9]+: [A-Z0-9_]+=.*' deploy/helm | sed -E 's/^checkov.io\/skip[0-9]+: ([A-Z0-9_]+)=/  skipped on one resource: \1: /'

step "7. terraform: fmt -check -recursive and HCL parse"
TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive -diff terraform ||
  fail "terraform fmt: run terraform fmt -recursive terraform"
echo "terraform fmt: clean"
"$HCL_PY" deploy/tools/check_terraform.py terraform || fail "terraform parse check"

step "8. Dockerfile builds binaries of this workspace"
mapfile -t bins < <(grep -oE -- '--bin [a-z-]+' docker/Dockerfile | awk '{print $2}')
[ "${#bins[@]}" -gt 0 ] || fail "no --bin in docker/Dockerfile"
for bin in "${bins[@]}"; do
  manifest="$(grep -lE "^name = \"$bin\"$" Cargo.toml ./*/Cargo.toml services/*/Cargo.toml crates/*/Cargo.toml 2>/dev/null | head -n 1)"
  [ -n "$manifest" ] && [ -f "$(dirname "$manifest")/src/main.rs" ] ||
    fail "docker/Dockerfile builds --bin $bin, which no workspace package provides"
  grep -q "target/release/$bin" docker/Dockerfile || fail "docker/Dockerfile does not copy $bin out of the builder"
done
echo "${bins[*]}: each a package with src/main.rs"

printf '\ncheck-deploy: OK in %ss\n' "$((SECONDS - started))"
