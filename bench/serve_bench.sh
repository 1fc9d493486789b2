#!/usr/bin/env bash
# Requests/s and latency of `mlp serve` for one-image predict requests, measured with wrk
# (Debian's wrk: scripts/install-deps.sh wrk), next to a minimal PyTorch server
# (bench/torch_serve.py, Debian's python3-torch) answering the same request with the same model.
# Both on 127.0.0.1; the server's RSS before and after each run.
#
# usage: bench/serve_bench.sh [MODEL] [SECONDS] [CONNECTIONS]
#        (default: model.safetensors from scripts/main.sh, or a 3-epoch model trained here; 10 s; 16)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-model.safetensors}
seconds=${2:-10}
connections=${3:-16}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

if [ ! -e "$model" ]; then
  model=$work/model.safetensors
  build/mlp train --data data/mnist --epochs 3 --out "$model" -q
fi
# The first MNIST test image (a 7), as the request body.
python3 -c 'import json, sys; d = open("data/mnist/t10k-images-idx3-ubyte", "rb").read(); print(json.dumps({"inputs": [list(d[16:800])]}))' > "$work/body.json"

rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# run NAME COMMAND...: starts the server, waits for its URL line, runs wrk, stops it.
run() {
  local name=$1; shift
  "$@" > "$work/$name.out" 2>&1 &
  local pid=$!
  pids+=("$pid")
  local url=""
  for _ in $(seq 100); do
    url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+/' "$work/$name.out" || true)
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "$name did not start:"; cat "$work/$name.out"; exit 1; }
  curl -s -d @"$work/body.json" "${url}v1/predict" > /dev/null  # warm up
  BODY=$work/body.json wrk -t 2 -c "$connections" -d 2s -s bench/serve_post.lua "${url}v1/predict" > /dev/null
  local before; before=$(rss "$pid")
  echo "== $name: $(head -1 "$work/$name.out")"
  BODY=$work/body.json wrk -t 2 -c "$connections" -d "${seconds}s" --latency -s bench/serve_post.lua "${url}v1/predict" |
    grep -E "Requests/sec|Latency|50%|99%|requests in|Non-2xx|Socket errors"
  echo "   RSS ${before} KiB before, $(rss "$pid") KiB after"
  kill -TERM "$pid"
  wait "$pid" || true
}

echo "model $model; $(nproc) cores; wrk: 2 threads, $connections connections, ${seconds} s, one image per request"
run "mlp serve" build/mlp serve --model "$model" --port 0 --threads "$connections"
run "PyTorch (http.server)" /usr/bin/python3 bench/torch_serve.py --model "$model"
