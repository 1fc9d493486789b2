#!/usr/bin/env bash
# Builds and runs every test: the optimized build, then the same suite under AddressSanitizer and
# UndefinedBehaviorSanitizer. Installs what is missing first (PyTorch included, for the
# cross-check in tests/torch), and fetches the MNIST digits.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --tests pkg-config
scripts/fetch-mnist.sh data/mnist
jobs=$(nproc)

echo "== release build and tests"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs"

echo "== installed package: find_package(mlp) and pkg-config from another project"
tests/consumer/run.sh build

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
ctest --preset asan -j "$jobs"

echo "== libFuzzer targets (fuzz/), 30 s each; see docs/reliability.md"
scripts/fuzz.sh 30
