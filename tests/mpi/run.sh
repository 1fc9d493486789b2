#!/usr/bin/env bash
# `mlp train` under mpirun, end to end (docs/distributed.md). One case per call:
#   tests/mpi/run.sh CASE MLP_BINARY DATA_DIR
#   identical  the model files of 2 and 3 ranks are byte-identical to one process's: SGD, Adam
#              with dropout and --val-split, a batch (199) that no rank count divides
#   resume     a checkpoint written by 2 ranks, resumed by 3, ends with the one-process model
#   kill       kill -9 of one rank mid-run: mpirun and every rank end within 30 s, non-zero,
#              naming the rank; the last checkpoint, resumed by one process, ends with the
#              one-process model
#   badinput   one rank given a missing data file: every rank exits non-zero and one line names
#              the rank and the file
#   hang       one rank stopped (SIGSTOP): rank 0 gives up after --comm-timeout 5 and says what it waited for
# Exit 0 passed, 1 failed, 77 skipped (no mpirun or no data).
set -uo pipefail
case_name=$1 mlp=$2 data=$3
command -v mpirun >/dev/null || { echo "mpirun not found: skipped"; exit 77; }
[ -e "$data/train-images-idx3-ubyte" ] || { echo "$data: no MNIST digits: skipped"; exit 77; }

work=$(mktemp -d /tmp/mlp-mpi-XXXXXX)
launcher_pid=""
cleanup() {
  # Only what this script started: the mpirun it launched, and its ranks (killed first: mpirun
  # killed with -9 could not take them with it).
  if [ -n "$launcher_pid" ] && kill -0 "$launcher_pid" 2>/dev/null; then
    for stat in /proc/[0-9]*/stat; do
      [ "$(awk '{print $4}' "$stat" 2>/dev/null)" = "$launcher_pid" ] || continue
      pid=${stat#/proc/}; kill -9 "${pid%/stat}" 2>/dev/null
    done
    kill -9 "$launcher_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

mpirun=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)  # containers run as root
export OMP_NUM_THREADS=1

fail() { echo "FAIL: $*"; exit 1; }
# The process of rank $2 among the children of mpirun $1 (from /proc: no procps needed).
rank_pid() {
  local stat pid
  for stat in /proc/[0-9]*/stat; do
    pid=${stat#/proc/}; pid=${pid%/stat}
    [ "$(awk '{print $4}' "$stat" 2>/dev/null)" = "$1" ] || continue
    tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && { echo "$pid"; return; }
  done
}
same() { cmp -s "$1" "$2" || fail "$1 and $2 differ"; echo "ok: $(basename "$1") = $(basename "$2")"; }

layers=784-32-10
[ "$case_name" = kill ] && layers=784-256-10  # epochs long enough to kill one in the middle
common=(train --layers $layers --batch-size 199 --seed 7 --quiet)
with_data=("${common[@]}" --data "$data")

case $case_name in
identical)
  for variant in sgd adam; do
    if [ $variant = sgd ]; then options=(--epochs 2 --lr 0.1)
    else options=(--epochs 2 --optimizer adam --lr 0.003 --dropout 0.2 --val-split 0.1 --keep-best); fi
    "$mlp" "${with_data[@]}" "${options[@]}" --out "$work/$variant-1.safetensors" --metrics "$work/$variant-1.jsonl" ||
      fail "one process ($variant)"
    for n in 2 3; do
      "${mpirun[@]}" -np $n "$mlp" "${with_data[@]}" "${options[@]}" --out "$work/$variant-$n.safetensors" \
        --metrics "$work/$variant-$n.jsonl" || fail "$n ranks ($variant)"
      same "$work/$variant-$n.safetensors" "$work/$variant-1.safetensors"
      # The losses and accuracies of every epoch too (the timings differ, of course).
      for f in 1 $n; do sed -E 's/"(seconds|samples_per_second)":[^,}]*//g' "$work/$variant-$f.jsonl" > "$work/$variant-$f.cmp"; done
      same "$work/$variant-$n.cmp" "$work/$variant-1.cmp"
    done
  done
  ;;
resume)
  options=(--optimizer adam --lr 0.003 --dropout 0.1 --checkpoint "$work/c.ckpt" --checkpoint-every 1)
  "$mlp" "${with_data[@]}" "${options[@]}" --epochs 3 --out "$work/straight.safetensors" || fail "one process"
  "${mpirun[@]}" -np 2 "$mlp" "${with_data[@]}" "${options[@]}" --epochs 2 --out "$work/two.safetensors" || fail "2 ranks"
  # Resumed without --out: the model goes where the checkpoint (written by rank 0) says.
  "${mpirun[@]}" -np 3 "$mlp" train --resume "$work/c.ckpt" --epochs 3 --quiet || fail "3 ranks resuming"
  same "$work/two.safetensors" "$work/straight.safetensors"
  ;;
kill)
  options=(--lr 0.05)
  "${mpirun[@]}" -np 2 "$mlp" "${with_data[@]}" "${options[@]}" --checkpoint "$work/c.ckpt" --checkpoint-every 1 --epochs 500 --out "$work/never.safetensors" \
    > "$work/log" 2>&1 &
  launcher_pid=$!
  for _ in $(seq 600); do [ -s "$work/c.ckpt" ] && break; sleep 0.05; done
  [ -s "$work/c.ckpt" ] || fail "no checkpoint after 30 s: $(cat "$work/log")"
  victim=$(rank_pid "$launcher_pid" 1)
  [ -n "$victim" ] || fail "rank 1 not found among the children of mpirun ($launcher_pid)"
  killed_at=$(date +%s)
  kill -9 "$victim"
  for _ in $(seq 300); do kill -0 "$launcher_pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$launcher_pid" 2>/dev/null && fail "mpirun still running 30 s after rank 1 was killed"
  wait "$launcher_pid"; status=$?; launcher_pid=""
  echo "mpirun exited $status after $(( $(date +%s) - killed_at )) s"
  [ "$status" -ne 0 ] || fail "mpirun exited 0"
  grep -E "rank 1 .*(signal 9|Killed)" "$work/log" || fail "no line names rank 1 and the signal: $(cat "$work/log")"
  for cmdline in /proc/[0-9]*/cmdline; do
    tr '\0' ' ' < "$cmdline" 2>/dev/null | grep -q "$work/never.safetensors" && fail "a rank is still running: $cmdline"
  done
  # The last checkpoint (after some epoch k < 5) goes on with one process to epoch 5, and ends
  # where one process from scratch does.
  "$mlp" train --resume "$work/c.ckpt" --epochs 5 --out "$work/resumed.safetensors" --quiet || fail "resume with 1"
  "$mlp" "${with_data[@]}" "${options[@]}" --epochs 5 --out "$work/straight.safetensors" ||
    fail "one process"
  same "$work/resumed.safetensors" "$work/straight.safetensors"
  ;;
badinput)
  # One launch, two programs (MPMD): rank 1 is told to read a file that is not there.
  "${mpirun[@]}" -np 1 "$mlp" "${with_data[@]}" --epochs 1 : -np 1 "$mlp" "${common[@]}" --epochs 1 --data "$work/missing" \
    > "$work/log" 2>&1
  status=$?
  cat "$work/log"
  [ "$status" -ne 0 ] || fail "mpirun exited 0"
  [ "$(grep -c "^mlp: " "$work/log")" -eq 1 ] || fail "not exactly one line from mlp"
  grep -q "^mlp: rank 1: .*$work/missing" "$work/log" || fail "the line does not name rank 1 and the file"
  # Options that differ between ranks would train different models in lockstep: refused.
  "${mpirun[@]}" -np 1 "$mlp" "${with_data[@]}" --epochs 1 : -np 1 "$mlp" "${with_data[@]}" --epochs 1 --lr 0.2 \
    > "$work/log" 2>&1
  status=$?
  cat "$work/log"
  [ "$status" -ne 0 ] || fail "mpirun exited 0 with different options on rank 1"
  grep -q "^mlp: rank 1: --lr differs from rank 0.s (0.2 here, 0.1 there)" "$work/log" || fail "no line names rank 1 and --lr"
  ;;
hang)
  "${mpirun[@]}" -np 2 "$mlp" "${with_data[@]}" --epochs 500 --comm-timeout 5 --metrics "$work/m.jsonl" > "$work/log" 2>&1 &
  launcher_pid=$!
  for _ in $(seq 600); do [ -s "$work/m.jsonl" ] && break; sleep 0.05; done
  [ -s "$work/m.jsonl" ] || fail "no epoch after 30 s: $(cat "$work/log")"
  victim=$(rank_pid "$launcher_pid" 1)
  [ -n "$victim" ] || fail "rank 1 not found"
  kill -STOP "$victim"
  for _ in $(seq 300); do kill -0 "$launcher_pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$launcher_pid" 2>/dev/null && { kill -CONT "$victim"; fail "still running 30 s after rank 1 stopped"; }
  wait "$launcher_pid"; status=$?; launcher_pid=""
  cat "$work/log"
  [ "$status" -ne 0 ] || fail "mpirun exited 0"
  # Rank 0 names rank 1 when it waits for rank 1, or the others when they must take its data.
  grep -Eq "^mlp: rank 0: (waiting for rank 1|sending to rank 1|sending to the other ranks).*: nothing for 5 s" "$work/log" ||
    fail "no line says what rank 0 waited for"
  ;;
*)
  echo "unknown case $case_name"; exit 2 ;;
esac
echo "passed: $case_name"
