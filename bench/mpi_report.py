#!/usr/bin/env python3
"""Tables of docs/distributed.md from the JSON lines of bench/mpi_bench.sh: the exchange times, the
1 rank x 2 threads against 2 ranks x 1 thread comparison, and the cost model (compute per step
measured here, communication per step at 10 and 100 Gbit/s).

    bench/mpi_report.py results.jsonl
"""
import json
import statistics
import sys


def median(values):
    return statistics.median(values) if values else float("nan")


def parameters(layers):
    sizes = [int(n) for n in layers.split("-")]
    return sum(sizes[i] * (sizes[i - 1] + 1) for i in range(1, len(sizes)))


def main(path):
    records = [json.loads(line) for line in open(path) if line.startswith("{")]
    exchange = [r for r in records if r["bench"] == "exchange"]
    train = [r for r in records if r["bench"] == "train"]

    print("| floats | MPI_Allreduce median (best) | fold in shard order median (best) | rounds |")
    print("| ---: | ---: | ---: | ---: |")
    for n in sorted({r["floats"] for r in exchange}):
        rs = [r for r in exchange if r["floats"] == n]
        print(f"| {n:,} | {median([r['allreduce_s_median'] for r in rs]) * 1e3:.1f} ms "
              f"({min(r['allreduce_s_best'] for r in rs) * 1e3:.1f}) | "
              f"{median([r['fold_s_median'] for r in rs]) * 1e3:.1f} ms ({min(r['fold_s_best'] for r in rs) * 1e3:.1f}) | {len(rs)} |")

    print()
    print("| run | samples/s, median of rounds | rounds | step median (best), ms | waiting for the other rank | the exchange |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for ranks, threads in ((1, 2), (2, 1)):
        rs = [r for r in train if r["layers"] == "784-1024-1024-10" and r["batch"] == 256 and r["ranks"] == ranks
              and r["threads"] == threads and r["steps"] != 30]
        if not rs:
            continue
        print(f"| {ranks} rank{'s' if ranks > 1 else ''} x {threads} thread{'s' if threads > 1 else ''} | {median([r['samples_per_s'] for r in rs]):,.0f} "
              f"| {len(rs)} | {median([r['step_s_median'] for r in rs]) * 1e3:.1f} ({min(r['step_s_best'] for r in rs) * 1e3:.1f}) "
              f"| {median([r.get('wait_share_median', 0) for r in rs]) * 100:.0f}% "
              f"| {median([r['exchange_share_median'] for r in rs]) * 100:.0f}% |")

    # Communication per step. On a network of b bit/s, the fold sends the running sum down the chain
    # and the total back: 2 x 4P bytes over the slowest link, 2 * 4P * 8 / b seconds. To that adds
    # what it costs on this machine without a wire (copies, additions, MPI's own work): the fold's
    # time per float on 2 ranks here, from the 10M-float runs (the best of each round: the
    # machine's own speed, not the other jobs'), times P. Compute per step with N ranks is the one
    # rank step / N; communication dominates from N = compute / exchange on.
    ten_million = [r for r in exchange if r["floats"] == 10_000_000]
    local_per_float = median([r["fold_s_best"] for r in ten_million]) / 10_000_000 if ten_million else 0.0
    print()
    print(f"Local cost of the fold, per float: {local_per_float * 1e9:.2f} ns (2 ranks, shared memory)")
    print()
    print("| network, batch | parameters | compute per step, 1 rank x 1 thread | 10 Gbit/s: wire only | ranks from which it dominates | wire + local | ranks | 100 Gbit/s: wire only | ranks | wire + local | ranks | shards per batch |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for layers, batch in sorted({(r["layers"], r["batch"]) for r in train if r["steps"] == 30}, key=lambda lb: parameters(lb[0])):
        one = [r for r in train if r["steps"] == 30 and r["layers"] == layers and r["batch"] == batch and r["ranks"] == 1
               and r["threads"] == 1]
        compute = median([r["step_s_median"] for r in one])
        P = parameters(layers)
        row = f"| {layers}, {batch} | {P:,} | {compute * 1e3:.2f} ms |"
        for gbit in (10, 100):
            for local in (0.0, local_per_float):
                seconds = 2 * 4 * P * 8 / (gbit * 1e9) + local * P
                row += f" {seconds * 1e3:.2f} ms | {max(2, int(compute / seconds) + 1)} |"
        print(row + f" {-(-batch // 64)} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/dev/stdin")
