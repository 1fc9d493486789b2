#!/usr/bin/env python3
"""A bounded load on `mlp serve`: parallel keep-alive clients on 127.0.0.1 send one-image predict
requests until a fixed number is done. Checks that none fails and that the server's memory (RSS)
stays flat; prints requests/s and the p50/p99 latency (these numbers measure this Python client
as much as the server: bench/serve_bench.sh measures with wrk).

usage: python3 tests/serve/load_test.py --mlp build/mlp --model M --data data/mnist
           [--clients 16] [--requests 20000] [--server-threads 16] [--max-rss-growth-kib 4096]
Exits 0 when every check holds, 1 otherwise.
"""
import argparse
import http.client
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_client import Checks, Server, read_mnist_test  # noqa: E402


def run_load(port, bodies, clients, requests):
    """Latencies (seconds) of the successful requests, and the failures (descriptions)."""
    lock = threading.Lock()
    next_request = [0]
    latencies, failures = [], []

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        while True:
            with lock:
                i = next_request[0]
                next_request[0] += 1
            if i >= requests:
                break
            body = bodies[i % len(bodies)]
            start = time.perf_counter()
            try:
                connection.request("POST", "/v1/predict", body=body, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                reply = response.read()
                if response.status != 200 or b'"class"' not in reply:
                    raise RuntimeError(f"HTTP {response.status}: {reply[:100]!r}")
                mine.append(time.perf_counter() - start)
            except Exception as e:  # any failure is counted, and the client reconnects
                with lock:
                    failures.append(f"request {i}: {e}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, failures


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mlp", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--warmup", type=int, default=4000, help="requests before the first RSS reading")
    parser.add_argument("--server-threads", type=int, default=16)
    parser.add_argument("--max-rss-growth-kib", type=int, default=4096)
    args = parser.parse_args()
    if not os.path.exists(args.model):
        print(f"SKIP: no model {args.model} (the serve_models test trains it from data/mnist)")
        return 77
    check = Checks()
    images, _ = read_mnist_test(args.data, 100)
    bodies = [json.dumps({"inputs": [image]}).encode() for image in images]

    server = Server(args.mlp, args.model, "--threads", str(args.server_threads))
    try:
        # Warm up with every client at once, until each server thread has its network and the
        # allocator its arenas: the steady state that must then stay flat.
        run_load(server.port, bodies, args.clients, args.warmup)
        rss_before = server.rss_kib()
        start = time.perf_counter()
        latencies, failures = run_load(server.port, bodies, args.clients, args.requests)
        seconds = time.perf_counter() - start
        rss_after = server.rss_kib()
        latencies.sort()
        print(f"{args.requests} requests (batch of 1) from {args.clients} clients in {seconds:.2f} s: "
              f"{args.requests / seconds:.0f} requests/s, p50 {percentile(latencies, 50) * 1000:.2f} ms, "
              f"p99 {percentile(latencies, 99) * 1000:.2f} ms; server RSS {rss_before} KiB before, {rss_after} KiB after")
        check(not failures and len(latencies) == args.requests,
              f"{len(latencies)} of {args.requests} requests answered, {len(failures)} failed" +
              (": " + "; ".join(failures[:3]) if failures else ""))
        check(rss_after - rss_before <= args.max_rss_growth_kib,
              f"server memory flat: RSS grew {rss_after - rss_before} KiB (at most {args.max_rss_growth_kib})")
        check(server.stop() == 0, "SIGTERM after the load: the server exits 0")
    finally:
        server.kill()
    return check.status()


if __name__ == "__main__":
    sys.exit(main())
