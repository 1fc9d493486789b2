#!/usr/bin/env bash
# Checks the installed package as a user would see it: installs the build in BUILD_DIR (default
# build/) into a temporary prefix, then builds and runs tests/consumer/ against it twice, with
# CMake's find_package(mlp) and with pkg-config. Stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
build_dir=${1:-build}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

echo "-- installing $build_dir into $prefix"
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
for path in include/mlp/network.hpp lib/cmake/mlp/mlpConfig.cmake lib/cmake/mlp/mlpConfigVersion.cmake \
            lib/pkgconfig/mlp.pc bin/mlp bin/mlp-serve bin/mlp-onnx; do
  [ -e "$prefix/$path" ] || { echo "FAIL: $path was not installed" >&2; exit 1; }
done
"$prefix/bin/mlp" --help >/dev/null

echo "-- consumer with find_package(mlp)"
cmake -S tests/consumer -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/cmake-build" -j "$(nproc)" >/dev/null
"$work/cmake-build/consumer" "$work/cmake.safetensors"

echo "-- the installed mlp runs the installed mlp-onnx and mlp-serve"
"$prefix/bin/mlp" export --model "$work/cmake.safetensors" --onnx "$work/cmake.onnx" --quiet
[ -s "$work/cmake.onnx" ] || { echo "FAIL: mlp export wrote no ONNX file" >&2; exit 1; }
served=$("$prefix/bin/mlp" serve --model "$work/absent.safetensors" 2>&1 || true)
[ "$served" = "mlp: $work/absent.safetensors: No such file or directory" ] ||
  { echo "FAIL: mlp serve did not reach mlp-serve: $served" >&2; exit 1; }

echo "-- consumer with pkg-config"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
echo "pkg-config --cflags --libs mlp: $(pkg-config --cflags --libs mlp)"
# The rpath is for a shared libmlp.so (BUILD_SHARED_LIBS=ON) outside the loader's search path.
# shellcheck disable=SC2046  # the flags are meant to split
${CXX:-g++} -std=c++20 -O2 tests/consumer/main.cpp -o "$work/consumer-pc" $(pkg-config --cflags --libs mlp) \
  -Wl,-rpath,"$(pkg-config --variable=libdir mlp)"
"$work/consumer-pc" "$work/pc.safetensors"

echo "-- installed package OK"
