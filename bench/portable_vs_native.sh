#!/usr/bin/env bash
# The portable default build against one built with -DMLP_NATIVE=ON, on the benchmark
# configurations, alternated process by process (portable, native, portable, ...) so that drift on
# a busy host falls on both; prints per configuration the median and range of each and of the
# ratio round by round, and keeps the JSON lines of bench/mlp_bench.
#
#   bench/portable_vs_native.sh [ROUNDS]      # default 15 rounds
#
# Environment: CONFIGS (default small-b32 mid-b64 mid-b256 large1024-b256 infer-1), EPOCHS
# (default 2), REPS (single-image calls, default 20000), OUT (JSON lines, default
# build/bench-results/portable-vs-native-DATE.jsonl), MLP_MNIST (MNIST folder), OMP_NUM_THREADS.
# Ratios are given for the wall time (samples/s) and for the process's CPU time per unit; on one
# thread (OMP_NUM_THREADS=1) the latter is the work done, which a busy host disturbs far less.
# Builds build/ (release preset) and build-native/ (the same with -DMLP_NATIVE=ON) when missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ROUNDS="${1:-15}"
CONFIGS="${CONFIGS:-small-b32 mid-b64 mid-b256 large1024-b256 infer-1}"
EPOCHS="${EPOCHS:-2}"
REPS="${REPS:-20000}"
export MLP_MNIST="${MLP_MNIST:-$ROOT/../shared/data/mnist}"
OUT="${OUT:-build/bench-results/portable-vs-native-$(date +%Y%m%d-%H%M%S).jsonl}"
mkdir -p "$(dirname "$OUT")"

[[ -x build/bench/mlp_bench ]] || { cmake --preset release >/dev/null && cmake --build build -j"$(nproc)" --target mlp_bench; }
[[ -x build-native/bench/mlp_bench ]] || {
  cmake -S . -B build-native -DCMAKE_BUILD_TYPE=Release -DMLP_NATIVE=ON -DMLP_BUILD_TESTS=OFF >/dev/null &&
  cmake --build build-native -j"$(nproc)" --target mlp_bench; }

for (( round = 1; round <= ROUNDS; round++ )); do
  for config in $CONFIGS; do
    for build in build build-native; do
      line="$("$build/bench/mlp_bench" --config "$config" --epochs "$EPOCHS" --reps "$REPS" 2>/dev/null)"
      echo "{\"round\":$round,\"build\":\"$build\",${line#\{}" >> "$OUT"
    done
  done
  echo "round $round of $ROUNDS done" >&2
done

/usr/bin/python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def summary(values):
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"
print(f"{'configuration':<16}{'rounds':>7}{'wall: portable/native':>28}{'CPU time: native/portable':>30}"
      f"{'others CPU share':>24}")
for config in dict.fromkeys(r["config"] for r in rows):
    by = {b: {r["round"]: r for r in rows if r["config"] == config and r["build"] == b} for b in ("build", "build-native")}
    rounds = sorted(set(by["build"]) & set(by["build-native"]))
    def speed(r):  # higher is faster
        return r["samples_per_s_median"] if r["kind"] != "latency" else 1 / r["latency_us_median"]
    wall = [speed(by["build"][i]) / speed(by["build-native"][i]) for i in rounds]
    cpu = [by["build-native"][i]["cpu_seconds_median"] / by["build"][i]["cpu_seconds_median"] for i in rounds]
    others = [by[b][i]["others_cpu_share"] for b in by for i in rounds]
    print(f"{config:<16}{len(rounds):>7}{summary(wall):>28}{summary(cpu):>30}{summary(others):>24}")
print("threads:", sorted({r["threads"] for r in rows}), " micro-kernels:", sorted({(r["build"], r["micro_kernel"]) for r in rows}))
print("(ratios above 1: the portable build is faster; median [range] over the rounds)")
PY
