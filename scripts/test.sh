#!/usr/bin/env bash
# Builds and runs every test: the optimized build, then the same suite under AddressSanitizer and
# UndefinedBehaviorSanitizer. Installs what is missing first (PyTorch included, for the
# cross-check in tests/torch), and fetches the MNIST digits. Ends with one line
# "N passed, N failed, N skipped" over both CTest runs; any failure stops it earlier, non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."

# python3-sklearn and python3-pandas: the real tables of the tabular tests (tests/tabular) and bench/tabular.py.
scripts/install-deps.sh --tests pkg-config python3-sklearn python3-pandas
scripts/fetch-mnist.sh data/mnist
# ONNX Runtime for tests/onnx: the CPU binary in onnxruntime-node's npm tarball (.npmrc there skips
# its install script, which would fetch CUDA providers from NuGet).
(cd tests/onnx && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
# puppeteer-core drives Debian's chromium in the browser test of `mlp serve`; it downloads no browser.
(cd tests/serve && npm ci --no-audit --no-fund --loglevel=error)
jobs=$(nproc)
ctest_log=$(mktemp)
trap 'rm -f "$ctest_log"' EXIT

echo "== release build and tests"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs" | tee -a "$ctest_log"

echo "== installed package: find_package(mlp) and pkg-config from another project"
tests/consumer/run.sh build

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
ctest --preset asan -j "$jobs" | tee -a "$ctest_log"

echo "== ThreadSanitizer (clang, LLVM's libomp): the multi-threaded kernels, training, optimizers and batch gathering, 2 threads"
# libgomp is not instrumented and TSan reports its own barriers as races; libomp is understood.
scripts/install-deps.sh clang libclang-rt-14-dev libomp-dev
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$jobs" --target test_kernels test_network test_training test_optimizers test_data test_distributed
ctest --preset tsan -j "$jobs" | tee -a "$ctest_log"

echo "== libFuzzer targets (fuzz/), 20 s each; see docs/reliability.md"
scripts/fuzz.sh 20

# Reached only if every step passed: CTest's counts of both runs.
total=$(grep -oE "tests failed out of [0-9]+" "$ctest_log" | awk '{n += $NF} END {print n + 0}')
skipped=$(grep -c "\*\*\*Skipped" "$ctest_log" || true)
echo "tests: $((total - skipped)) passed, 0 failed, $skipped skipped"
