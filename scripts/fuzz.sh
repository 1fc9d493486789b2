#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (AddressSanitizer + UBSan) into build-fuzz/
# and runs each for SECONDS (default 60) from a scratch copy of its seed corpus in fuzz/corpus/.
# Exits non-zero if any target finds a crash, a leak, a hang, a huge allocation or an exception
# other than mlp::Error, printing the reproducer's path. Usage: scripts/fuzz.sh [SECONDS [TARGET...]]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idx csv model onnx serve_request)

# clang 14 on Debian 12; libFuzzer and the sanitizers' runtimes come with libclang-rt-14-dev.
scripts/install-deps.sh clang libclang-rt-14-dev libomp-dev

echo "== building the fuzzers (build-fuzz/)"
cmake -S fuzz -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j "$(nproc)" >/dev/null

scratch=$(mktemp -d "${TMPDIR:-/tmp}/mlp-fuzz.XXXXXX")
findings=build-fuzz/findings
mkdir -p "$findings"
failed=0
for target in "${targets[@]}"; do
  echo "== fuzz_$target for ${seconds}s"
  # Inputs that once failed (fuzz/regressions/<target>/) must pass before fuzzing goes on.
  regressions=(fuzz/regressions/"$target"/*)
  if [ -e "${regressions[0]}" ] && ! "build-fuzz/fuzz_$target" -rss_limit_mb=2048 -timeout=10 \
      "${regressions[@]}" >"$findings/fuzz_$target.regressions.log" 2>&1; then
    failed=1
    grep -E "ERROR|SUMMARY|^Running: " "$findings/fuzz_$target.regressions.log" | tail -n 3
    echo "fuzz_$target: a regression input fails again; log: $findings/fuzz_$target.regressions.log"
    continue
  fi
  cp -r "fuzz/corpus/$target" "$scratch/$target"
  log="$findings/fuzz_$target.log"
  dict=()
  [ -f "fuzz/$target.dict" ] && dict=(-dict="fuzz/$target.dict")
  # Leaks are findings too (ASan's leak check at the end of each input that leaked).
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "build-fuzz/fuzz_$target" "$scratch/$target" -max_total_time="$seconds" -max_len=4096 \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/$target-" \
      "${dict[@]}" >"$log" 2>&1; then
    failed=1
    grep -E "ERROR|SUMMARY|Test unit written to" "$log" || tail -n 20 "$log"
    echo "fuzz_$target: FAILED; log: $log; reproduce: build-fuzz/fuzz_$target <the file above>"
  else
    grep -E "^stat::number_of_executed_units|^Done" "$log" | tr '\n' ' '
    echo
  fi
done
rm -rf "$scratch"
exit "$failed"
