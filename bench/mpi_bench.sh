#!/usr/bin/env bash
# Data-parallel measurements for docs/distributed.md, on this machine: the exchange of 1M and
# 10M floats (MPI_Allreduce and the fixed-order fold training uses) on 2 ranks, the compute of one
# training step of each benchmark network on 1 rank, and 784-1024-1024-10 batch 256 trained as
# 1 rank x 2 threads against 2 ranks x 1 thread, alternated ROUNDS times. Prints JSON lines;
# bench/mpi_report.py turns them into the tables. Needs a build with -DMLP_MPI=ON (preset release).
#
#   bench/mpi_bench.sh [BUILD_DIR] > results.jsonl      ROUNDS=5 STEPS=60 by default
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bench="$build/bench/mpi_bench"
[ -x "$bench" ] || { echo "mpi_bench.sh: $bench not found; configure with -DMLP_MPI=ON and build mpi_bench" >&2; exit 2; }
rounds=${ROUNDS:-5}
parts=${PARTS:-exchange train cost}  # a subset of them, e.g. PARTS=train
steps=${STEPS:-60}
mpirun=(mpirun)
# Containers run as root; OpenMPI refuses root unless told (docs/distributed.md).
[ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)

for round in $(seq "$rounds"); do
  echo "round $round of $rounds" >&2
  if [[ " $parts " == *" exchange "* ]]; then
    OMP_NUM_THREADS=1 "${mpirun[@]}" -np 2 --bind-to core "$bench" exchange --reps 20
  fi
  if [[ " $parts " == *" train "* ]]; then
    OMP_NUM_THREADS=2 "${mpirun[@]}" -np 1 --bind-to none "$bench" train --steps "$steps"
    OMP_NUM_THREADS=1 "${mpirun[@]}" -np 2 --bind-to core "$bench" train --steps "$steps"
  fi
done
[[ " $parts " == *" cost "* ]] || exit 0
# Compute per step of each benchmark network on one rank, one and two threads: the cost model's
# compute side.
for config in 784-16-32-1:32 784-128-64-10:64 784-128-64-10:256 784-800-10:128 784-1024-1024-10:256 784-2048-2048-10:512; do
  layers=${config%%:*} batch=${config##*:}
  for threads in 1 2; do
    OMP_NUM_THREADS=$threads "${mpirun[@]}" -np 1 --bind-to none "$bench" train --layers "$layers" --batch "$batch" --steps 30
  done
done
