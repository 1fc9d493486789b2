#!/usr/bin/env bash
# The benchmark run: builds (release) if needed, measures the FMA peak, then runs every
# configuration with mlp and with PyTorch, one after the other, each in a fresh process (so each
# peak RSS is that configuration's own), and prints the comparison table.
#
#   bench/run.sh                      # everything, 3 epochs per training configuration
#   EPOCHS=5 bench/run.sh             # more epochs (the median is reported)
#   CONFIGS="small-b32 mid-b64" bench/run.sh
#   TORCH=0 bench/run.sh              # mlp only
#
# Environment:
#   MLP_MNIST     MNIST folder (default ../shared/data/mnist); missing -> message, exit 77
#   EPOCHS        timed epochs per training configuration (default 3; median reported)
#   EPOCHS_LARGE  timed epochs for 784-2048-2048-10 (default: EPOCHS)
#   ROUNDS        times the whole list of configurations is run, mlp and PyTorch alternating
#                 (default 1); the table takes the median round, and lists every round's ratio
#   REPS          single-image forward calls timed (default 20000)
#   REPS_BATCH    batch-1024 predict passes timed (default 7)
#   CONFIGS       configurations to run (default: all, see build/bench/mlp_bench --list)
#   BUILD_DIR     build folder (default build, the release preset; another folder is configured
#                 as Release without tests)
#   OUT           results folder (default $BUILD_DIR/bench-results/DATE-TIME)
#   TORCH=0       skip PyTorch;   PYTHON  interpreter for PyTorch (default /usr/bin/python3)
#   QUIET_WAIT    seconds to wait, before each measurement, for the CPUs to be >= 95% idle over
#                 3 s (default 300; then it goes on regardless, and says so)
#   MAX_OTHERS    share of the CPUs that other processes may have used during a measurement
#                 before it is repeated (default 0.03); RETRIES repeats at most (default 2)
#
# The machine should be otherwise idle: other work on the cores shows up directly in the numbers.
# Each measurement records how much of the CPUs other processes used meanwhile (others_cpu_share,
# from /proc/stat); the table takes, per configuration and program, the least disturbed attempt.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BUILD_DIR="${BUILD_DIR:-build}"
EPOCHS="${EPOCHS:-3}"
EPOCHS_LARGE="${EPOCHS_LARGE:-$EPOCHS}"
REPS="${REPS:-20000}"
ROUNDS="${ROUNDS:-1}"
REPS_BATCH="${REPS_BATCH:-7}"
TORCH="${TORCH:-1}"
PYTHON="${PYTHON:-/usr/bin/python3}"
CONFIGS="${CONFIGS:-small-b32 mid-b64 mid-b256 wide-b128 large1024-b256 large2048-b512 infer-1 infer-b1024}"
export MLP_MNIST="${MLP_MNIST:-$ROOT/../shared/data/mnist}"
OUT="${OUT:-$BUILD_DIR/bench-results/$(date +%Y%m%d-%H%M%S)}"
QUIET_WAIT="${QUIET_WAIT:-300}"
MAX_OTHERS="${MAX_OTHERS:-0.03}"
RETRIES="${RETRIES:-2}"

# Waits until the CPUs were at least 95% idle over 3 s, at most QUIET_WAIT seconds.
wait_quiet() {
  local start=$SECONDS a b idle
  while :; do
    a=($(head -1 /proc/stat)); sleep 3; b=($(head -1 /proc/stat))
    idle=$(( 100 * ((b[4] + b[5]) - (a[4] + a[5])) /
             ((b[1]+b[2]+b[3]+b[4]+b[5]+b[6]+b[7]+b[8]) - (a[1]+a[2]+a[3]+a[4]+a[5]+a[6]+a[7]+a[8])) ))
    (( idle >= 95 )) && return 0
    if (( SECONDS - start >= QUIET_WAIT )); then
      echo "bench/run.sh: CPUs still busy (${idle}% idle) after ${QUIET_WAIT}s; measuring anyway" >&2
      return 0
    fi
  done
}

# Runs one measurement (a command printing one JSON line) until others used at most MAX_OTHERS
# of the CPUs, or RETRIES repeats are spent; every attempt goes to the results.
measure() {
  local attempt line others status
  for (( attempt = 0; attempt <= RETRIES; attempt++ )); do
    wait_quiet
    status=0
    line="$("$@")" || status=$?
    (( status == 0 )) || return $status
    echo "$line" >> "$RESULTS"
    others="$(echo "$line" | "$PYTHON" -c 'import json,sys; print(json.loads(sys.stdin.read())["others_cpu_share"])')"
    if "$PYTHON" -c "import sys; sys.exit(0 if $others <= $MAX_OTHERS else 1)"; then return 0; fi
    echo "   (others used $others of the CPUs meanwhile: measuring again)" >&2
  done
}

# --- build -------------------------------------------------------------------------------------
if [[ "$BUILD_DIR" == build ]]; then
  [[ -f build/CMakeCache.txt ]] || cmake --preset release
  cmake --build --preset release -j2 --target fma_peak mlp_bench
else
  [[ -f "$BUILD_DIR/CMakeCache.txt" ]] ||
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DMLP_BUILD_TESTS=OFF
  cmake --build "$BUILD_DIR" -j2 --target fma_peak mlp_bench
fi
FMA_PEAK="$BUILD_DIR/bench/fma_peak"
MLP_BENCH="$BUILD_DIR/bench/mlp_bench"

# --- data --------------------------------------------------------------------------------------
for name in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  if [[ ! -e "$MLP_MNIST/$name" && ! -e "$MLP_MNIST/$name.gz" ]]; then
    echo "bench/run.sh: MNIST not found in $MLP_MNIST ($name[.gz] missing); set MLP_MNIST. Skipped." >&2
    exit 77
  fi
done

mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
: > "$RESULTS"

# --- what it runs on ---------------------------------------------------------------------------
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  lscpu | grep -E '^(Model name|CPU family|Model:|CPU\(s\)|Thread|Core|Socket|L1d|L2|L3|Hypervisor)' || true
  echo "vector flags: $(grep -o -w -E 'avx512[a-z0-9_]*|avx2|fma' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  echo "compiler: $(c++ --version | head -1)"
  if [[ "$TORCH" != 0 ]]; then
    echo "python: $("$PYTHON" --version 2>&1); torch $("$PYTHON" -c 'import torch; print(torch.__version__)')"
  fi
  echo "libblas.so.3: $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo '?')"
} | tee "$OUT/machine.txt"

# --- FMA peak ----------------------------------------------------------------------------------
echo "== FMA peak" >&2
measure "$FMA_PEAK" --json
PEAK="$("$PYTHON" -c '
import json, sys
probes = [json.loads(line) for line in open(sys.argv[1]) if "\"fma_peak\"" in line]
best = min(probes, key=lambda p: p["others_cpu_share"])
sys.stderr.write("FMA peak: %.1f GFLOP/s on 1 thread, %.1f on %d threads (%s)\n"
                 % (best["gflops_1"], best["gflops_all"], best["threads"], best["unit"]))
print(best["gflops_all"])' "$RESULTS")"

# --- configurations ----------------------------------------------------------------------------
for (( round = 1; round <= ROUNDS; round++ )); do
for config in $CONFIGS; do
  epochs="$EPOCHS"
  [[ "$config" == large2048-b512 ]] && epochs="$EPOCHS_LARGE"
  echo "== $config (round $round of $ROUNDS)" >&2
  measure "$MLP_BENCH" --config "$config" --epochs "$epochs" --reps "$REPS" --reps-batch "$REPS_BATCH" \
    --peak-gflops "$PEAK"
  if [[ "$TORCH" != 0 ]]; then
    status=0
    measure "$PYTHON" "$ROOT/bench/torch_bench.py" --config "$config" --epochs "$epochs" --reps "$REPS" \
      --reps-batch "$REPS_BATCH" --peak-gflops "$PEAK" || status=$?
    if [[ $status -ne 0 ]]; then
      echo "bench/run.sh: torch_bench.py failed (exit $status); stopping." >&2
      exit "$status"
    fi
  fi
done
done

# --- table -------------------------------------------------------------------------------------
echo
"$PYTHON" "$ROOT/bench/report.py" "$RESULTS" "$MAX_OTHERS" | tee "$OUT/table.md"
echo
echo "results: $RESULTS, $OUT/table.md, $OUT/machine.txt"
