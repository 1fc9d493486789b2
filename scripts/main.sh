#!/usr/bin/env bash
# The main job: installs what is missing, builds mlp, fetches the MNIST digits, trains the default
# model (784-128-10, ReLU, softmax) and prints its test accuracy. Extra arguments go to `mlp train`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/fetch-mnist.sh data/mnist
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target mlp_cli
build/mlp train --data data/mnist --out model.safetensors "$@"
