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
# build/bench-results/portable-vs-native-DATE.jsonl), MLP_MNIST (MNIST folder).
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
print(f"{'configuration':<16}{'portable':>22}{'native':>22}{'portable/native':>28}  others' CPU share")
for config in dict.fromkeys(r["config"] for r in rows):
    def value(r):  # higher is better
        return r["samples_per_s_median"] if r["kind"] != "latency" else 1e6 / r["latency_us_median"]
    by = {b: {r["round"]: r for r in rows if r["config"] == config and r["build"] == b} for b in ("build", "build-native")}
    rounds = sorted(set(by["build"]) & set(by["build-native"]))
    p = [value(by["build"][i]) for i in rounds]; n = [value(by["build-native"][i]) for i in rounds]
    ratio = [a / b for a, b in zip(p, n)]
    latency = rows[0]["kind"] == "latency"
    fmt = lambda v: f"{statistics.median(v):>9.0f} [{min(v):.0f}-{max(v):.0f}]"
    unit = "1/s" if any(by["build"][i]["kind"] == "latency" for i in rounds) else "samples/s"
    others = [r["others_cpu_share"] for b in by.values() for r in b.values()]
    print(f"{config:<16}{fmt(p):>22}{fmt(n):>22}   {statistics.median(ratio):.3f} [{min(ratio):.3f}-{max(ratio):.3f}]"
          f"  {statistics.median(others):.2f} [{min(others):.2f}-{max(others):.2f}]  ({len(rounds)} rounds, {unit})")
kernels = {(r["build"], r.get("micro_kernel")) for r in rows}
print("micro-kernels:", sorted(kernels))
PY
