#!/usr/bin/env bash
# The matrix product of the working tree against the one of another git revision, alternated
# call by call in one process (bench/gemm_ab.cpp), on the products of the benchmark's nets.
#
#   bench/gemm_ab.sh [REVISION] [THREADS]     # default HEAD, all threads
#
# The revision's src/gemm.cpp is compiled with its namespace renamed (-Dmlp=mlp_base) against
# this tree's headers, so it must build with them. Uses the release build in build/ (made if
# missing) for this tree's product.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
REVISION="${1:-HEAD}"
THREADS="${2:-}"
[[ -f build/libmlp.a ]] || { cmake --preset release >/dev/null && cmake --build build -j"$(nproc)" --target mlp_lib; }
cmake --build build -j"$(nproc)" --target mlp_lib >/dev/null
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
git show "$REVISION:src/gemm.cpp" > "$WORK/gemm_base.cpp"
# As the default build compiles the library: for any x86-64, the wide code chosen at run time.
FLAGS=(-O3 -ffp-contract=off -fopenmp -std=c++20 -Isrc -Iinclude)
c++ "${FLAGS[@]}" -Dmlp=mlp_base -c "$WORK/gemm_base.cpp" -o "$WORK/gemm_base.o"
c++ "${FLAGS[@]}" bench/gemm_ab.cpp "$WORK/gemm_base.o" build/libmlp.a -o "$WORK/gemm_ab"
echo "base: $REVISION ($(git rev-parse --short "$REVISION")); this tree: $(git rev-parse --short HEAD)$(git diff --quiet -- src || echo ' + changes')"
"$WORK/gemm_ab" ${THREADS:+"$THREADS"}
