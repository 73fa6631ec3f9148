#!/usr/bin/env bash
# Installs what molbatch needs to build and test on Debian, skipping what is
# already there: RDKit (C++ headers and libraries, and Python for reference
# fixtures and the bench, with numpy, pandas, scikit-learn and scipy for the
# analytics references and their Python peer in the bench), Boost, protoc,
# PostgreSQL and Redis servers,
# wrk (the REST load in the bench), poppler-utils (the report test renders PDF pages with
# pdftoppm), the IUPAC InChI library (libinchi-dev: Debian's RDKit is built
# without InChI, so molbatch-chem links it directly), libcairo2-dev (RDKit's
# Cairo drawer draws the PNG structures of xlsx exports), LibreOffice Calc
# without a GUI (the xlsx export test opens its files), and cargo-nextest.
# With --browser also Debian's Chromium, for the web app's browser tests.
# Node.js 20 and npm must be there already (they build the web app).
# Safe to run again; it only acts on what is missing.
set -euo pipefail

packages=(
  build-essential pkg-config
  librdkit-dev libboost-dev libboost-serialization-dev python3-rdkit
  libinchi-dev libcairo2-dev
  libreoffice-calc-nogui
  python3-numpy python3-pandas python3-sklearn python3-scipy
  protobuf-compiler libprotobuf-dev
  postgresql redis-server
  wrk
  poppler-utils
)
[ "${1:-}" = "--browser" ] && packages=(chromium fonts-liberation)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install a Rust toolchain (rustup) first" >&2
  exit 1
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

if [ "${1:-}" != "--browser" ]; then
  node_major=$(node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/' || true)
  if [ -z "$node_major" ] || [ "$node_major" -lt 20 ] || ! command -v npm >/dev/null; then
    echo "Node.js 20 or newer with npm is needed to build the web app (web/); found: ${node_major:-none}" >&2
    exit 1
  fi
fi
