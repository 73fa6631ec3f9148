#!/usr/bin/env bash
# Builds the web app into web/dist: installs its npm packages exactly as the
# committed lockfile pins them (only when they are missing or the lockfile
# changed), then runs the production build. Used by `make web`, `make run`
# and `make test`.
set -euo pipefail
cd "$(dirname "$0")/../web"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing the web app's npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi
npm run build
