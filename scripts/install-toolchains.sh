#!/usr/bin/env bash
# Installs the Debian packages the tests need beyond Node: the toolchains the corpus of independent
# implementations is written in (Go, PHP, Python's protobuf runtime — which loads only under
# /usr/bin/python3), Go's QUIC and protobuf libraries for the corpus's Go programs, bubblewrap for
# the grading sandbox, and Spin for `npm run bench:spin`. Idempotent: installs only what is missing.
# Only Debian's packages are used: nothing is downloaded from elsewhere.
set -euo pipefail

packages=(golang-go php-cli python3-protobuf golang-github-lucas-clemente-quic-go-dev golang-google-protobuf-dev bubblewrap util-linux spin)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-toolchains: everything is installed (${packages[*]})"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo; else
    echo "install-toolchains: missing ${missing[*]}; run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
else
  SUDO=
fi
echo "install-toolchains: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
