#!/usr/bin/python3
"""Turns the JSON lines of bench/run.sh (fma_peak, mlp_bench, torch_bench) into the comparison
table, in Markdown, with the project's targets next to the measurements.

    report.py RESULTS.jsonl [MAX_OTHERS]

Which records count: a measurement during which other processes used more than MAX_OTHERS
(default 0.03) of the CPUs is left out when an undisturbed one of the same configuration and
program exists. With several rounds (ROUNDS in run.sh), each speed cell is the median round (by
samples/s, or by latency), the "per round" column lists the mlp/PyTorch ratio of every round, and
"mlp / PyTorch" is the median of those ratios.
"""

import json
import sys

# config -> (target text, minimum mlp/torch ratio, minimum share of peak); every training
# configuration also has the memory target: peak RSS <= the bound mlp_bench states.
TARGETS = {
    "small-b32": (">= 5x; RSS <= bound", 5.0, None),
    "mid-b64": (">= 2x; RSS <= bound", 2.0, None),
    "mid-b256": (">= 2x; RSS <= bound", 2.0, None),
    "wide-b128": ("RSS <= bound", None, None),
    "large1024-b256": (">= 1.4x, >= 65% of peak; RSS <= bound", 1.4, 0.65),
    "large2048-b512": (">= 1.4x, >= 65% of peak; RSS <= bound", 1.4, 0.65),
    "infer-1": ("< 5 us", None, None),
    "infer-b1024": ("(none)", None, None),
}


def speed(record):
    """Higher is better, for latency too."""
    return 1.0 / record["latency_us_median"] if record["kind"] == "latency" else record["samples_per_s_median"]


def median_record(records):
    ordered = sorted(records, key=speed)
    return ordered[(len(ordered) - 1) // 2]  # the lower middle for an even count


def main(path, max_others):
    probes, by_key, order = [], {}, []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            record = json.loads(line)
            if record["bench"] == "fma_peak":
                probes.append(record)
                continue
            if record["config"] not in order:
                order.append(record["config"])
            by_key.setdefault(record["config"], []).append(record)

    # Interference only lowers a peak: the highest undisturbed probe, else the least disturbed one.
    quiet_probes = [p for p in probes if p.get("others_cpu_share", 1.0) <= max_others]
    peak = (max(quiet_probes, key=lambda p: p["gflops_all"]) if quiet_probes
            else min(probes, key=lambda p: p.get("others_cpu_share", 1.0)) if probes else None)
    peak_gflops = peak["gflops_all"] if peak else 0.0

    def share(record):  # against the probe chosen above, not the figure the run was given
        return record["gflops_median"] / peak_gflops if record and peak_gflops else None

    # The ceiling: samples/s if every FLOP a training step really computes ran at the peak. That
    # is 6 x parameters less the 2 x n[0] x n[1] of dA[0], which neither program computes.
    def ceiling(record):
        if not record or record["kind"] != "train" or not peak_gflops:
            return None
        sizes = [int(n) for n in record["layers"].split("-")]
        return peak_gflops * 1e9 / (6.0 * record["parameters"] - 2.0 * sizes[0] * sizes[1])

    def accepted(records):
        quiet = [r for r in records if r.get("others_cpu_share", 0) <= max_others]
        return quiet or [min(records, key=lambda r: r.get("others_cpu_share", 0))]

    out = []
    if peak:
        out.append("FMA peak (%s): %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads (best of %d runs); "
                   "share of peak below is against the %d-thread figure.\n"
                   % (peak["unit"], peak["gflops_1"], peak["gflops_all"], peak["threads"], peak["runs"],
                      peak["threads"]))
    out.append("| configuration | mlp samples/s | PyTorch samples/s | mlp / PyTorch | per round | mlp GFLOP/s "
               "| mlp share of peak | PyTorch GFLOP/s | PyTorch share | target | met? | mlp peak RSS (MiB) "
               "| mlp bound (MiB) | PyTorch peak RSS (MiB) | ceiling samples/s | mlp share of ceiling "
               "| target ratio needs |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: "
               "| ---: | ---: | ---: |")
    disturbed = []
    rounds_seen = 1
    for name in [n for n in TARGETS if n in by_key] + [n for n in order if n not in TARGETS]:
        records = by_key[name]
        mlp_all = accepted([r for r in records if r["bench"] == "mlp"]) if any(
            r["bench"] == "mlp" for r in records) else []
        torch_all = accepted([r for r in records if r["bench"] == "torch"]) if any(
            r["bench"] == "torch" for r in records) else []
        rounds_seen = max(rounds_seen, len(mlp_all), len(torch_all))
        m = median_record(mlp_all) if mlp_all else None
        t = median_record(torch_all) if torch_all else None
        for r in (m, t):
            if r and r.get("others_cpu_share", 0) > max_others:
                disturbed.append("%s %s (%.0f%%)" % (name, r["bench"], 100 * r["others_cpu_share"]))
        # Per round: each accepted PyTorch record against the mlp record measured just before it.
        per_round = []
        mlp_ids = {id(r) for r in mlp_all}
        torch_ids = {id(r) for r in torch_all}
        last_mlp = None
        for r in records:
            if id(r) in mlp_ids:
                last_mlp = r
            elif id(r) in torch_ids and last_mlp is not None:
                per_round.append(speed(last_mlp) / speed(r))
        any_ = m or t
        target, min_ratio, min_share = TARGETS.get(name, ("", None, None))
        latency = any_["kind"] == "latency"
        if latency:
            m_cell = "%.2f us" % m["latency_us_median"] if m else "-"
            t_cell = "%.2f us" % t["latency_us_median"] if t else "-"
        else:
            m_cell = "{:,.0f}".format(m["samples_per_s_median"]) if m else "-"
            t_cell = "{:,.0f}".format(t["samples_per_s_median"]) if t else "-"
        # The ratio is the median of the rounds' ratios: each round measures the two programs back to
        # back, under the same conditions, while the machine's speed drifts between rounds (up to 2x
        # here, unseen by the CPU accounting: other tenants of the host).
        if per_round:
            ordered = sorted(per_round)
            ratio = ordered[(len(ordered) - 1) // 2]  # the lower middle for an even count
        else:
            ratio = speed(m) / speed(t) if m and t else None
        met = ""
        if m:
            checks = []  # (what, passed)
            if latency:
                checks.append(("latency", m["latency_us_median"] < 5.0))
            if min_ratio is not None and ratio is not None:
                checks.append(("speed", ratio >= min_ratio))
            if min_share is not None and share(m) is not None:
                checks.append(("peak", share(m) >= min_share))
            if m["kind"] == "train":
                checks.append(("memory", m["peak_rss_mib"] <= m["bound_mib"]))
            failed = [what for what, passed in checks if not passed]
            met = ("**no** (%s)" % ", ".join(failed) if failed else "yes") if checks else ""
        top = ceiling(m or t)
        needs = min_ratio * t["samples_per_s_median"] / top if top and t and min_ratio else None
        over = " (over)" if m and m["kind"] == "train" and m["peak_rss_mib"] > m["bound_mib"] else ""
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            any_["what"], m_cell, t_cell, "%.2fx" % ratio if ratio else "-",
            ", ".join("%.2f" % x for x in per_round) if len(per_round) > 1 else "",
            "%.1f" % m["gflops_median"] if m else "-",
            "%.0f%%" % (100 * share(m)) if share(m) is not None else "-",
            "%.1f" % t["gflops_median"] if t else "-",
            "%.0f%%" % (100 * share(t)) if share(t) is not None else "-",
            target, met,
            ("%.0f" % m["peak_rss_mib"]) + over if m else "-",
            "%.0f" % m["bound_mib"] if m else "-",
            "%.0f" % t["peak_rss_mib"] if t else "-",
            "{:,.0f}".format(top) if top else "-",
            "%.0f%%" % (100 * m["samples_per_s_median"] / top) if top and m else "-",
            "%.0f%%" % (100 * needs) if needs else "-"))
    out.append("")
    if disturbed:
        out.append("Disturbed by other processes (share of the CPUs they used during the measurement; no quieter "
                   "attempt was available): " + ", ".join(disturbed) + ".")
        out.append("")
    out.append("samples/s: median over the timed units (training: full epochs of 60,000 images; batch inference: "
               "predict passes over the 60,000 images); latency: median of single forward calls; for latency the "
               "ratio is PyTorch time / mlp time.%s GFLOP/s: 6 x parameters x samples/s for training, 2 x for "
               "inference. Ceiling: samples/s with every FLOP a step computes (6 x parameters - 2 x n[0] x n[1], "
               "as neither program computes dA[0]) at the FMA peak; target ratio needs: the target ratio x PyTorch's "
               "samples/s, as a share of that ceiling (over 100%%: out of reach on this machine)." % (" Each cell: the median of %d rounds; mlp / PyTorch: the median of the rounds' ratios." % rounds_seen
                if rounds_seen > 1 else ""))
    print("\n".join(out))


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.stderr.write(__doc__)
        sys.exit(2)
    main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) == 3 else 0.03)
