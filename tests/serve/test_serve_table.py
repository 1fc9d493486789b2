#!/usr/bin/env python3
"""`mlp serve` with models trained on tables, over real HTTP on 127.0.0.1: a request holds table
rows as a CSV file would (numbers, category names, null for a missing value), and the answers
equal `mlp predict --json` on the same rows written as CSV, bit for bit; unseen categories, rows
of the wrong length, text in a numeric column and a missing value the model cannot fill are 400
with one line naming the input and the column.

usage: python3 tests/serve/test_serve_table.py --mlp build/mlp
Exits 0 when every check holds, 1 otherwise. Needs no data: the tables are made here.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_client import Checks, Server, is_json_error  # noqa: E402

COLORS = ["red", "green", "blue"]


def write_table(path, rows, header="size,color,weight,kind"):
    with open(path, "w") as f:
        f.write(header + "\n")
        for row in rows:
            f.write(",".join("" if v is None else str(v) for v in row) + "\n")


def make_rows(rng, count, missing):
    """size, color, weight (missing at the given rate), kind: a class the first two decide."""
    rows = []
    for _ in range(count):
        size, color = round(rng.gauss(10, 3), 4), rng.choice(COLORS)
        weight = None if rng.random() < missing else round(rng.gauss(50, 10), 3)
        rows.append([size, color, weight, "big" if size + (5 if color == "red" else 0) > 12 else "small"])
    return rows


def predict_file(mlp, model, rows, path, header):
    """`mlp predict --json` on the rows written as a CSV file with a header: its predictions."""
    write_table(path, rows, header)
    out = subprocess.run([mlp, "predict", "--json", "--model", model, "--input", path],
                         check=True, capture_output=True, text=True).stdout
    return [{k: v for k, v in p.items() if k != "index"} for p in json.loads(out)["predictions"]]


def expect_error(check, server, inputs, words, what):
    status, headers, body = server.request("POST", "/v1/predict", {"inputs": inputs})
    error = json.loads(body)["error"] if is_json_error(status, headers, body) else ""
    check(status == 400 and error and all(w in error for w in words), f"{what}: {status} {error!r}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mlp", required=True)
    args = parser.parse_args()
    check = Checks()
    rng = random.Random(7)
    tmp = tempfile.mkdtemp(prefix="mlp-serve-table-")
    try:
        train = os.path.join(tmp, "train.csv")
        write_table(train, make_rows(rng, 300, 0.05))
        model = os.path.join(tmp, "colors.safetensors")
        subprocess.run([args.mlp, "train", "--data", train, "--label-column", "kind", "--categorical", "color",
                        "--impute", "median", "--layers", "5-16-2", "--epochs", "5", "--quiet", "--out", model],
                       check=True)
        queries = [row[:3] for row in make_rows(rng, 40, 0.2)]
        queries[0][0] = str(queries[0][0])  # a number as a string, as a CSV field is
        server = Server(args.mlp, model)
        status, _, body = server.request("POST", "/v1/predict", {"inputs": queries})
        ours = json.loads(body)["predictions"] if status == 200 else None
        reference = predict_file(args.mlp, model, queries, os.path.join(tmp, "q.csv"), "size,color,weight")
        check(status == 200 and ours == reference and any(q[2] is None for q in queries),
              "a categorical column and missing values: the same answers as mlp predict --json on the CSV, bit for bit")
        expect_error(check, server, [[10, "purple", 50]], ["inputs[0]", "'color'", "'purple'", "not seen"],
                     "an unseen category")
        expect_error(check, server, [[10, "red", 50], [10, "red"]], ["inputs[1]", "2 values", "takes 3"],
                     "a row of 2 fields")
        expect_error(check, server, [[10, "red", 50, 1]], ["inputs[0]", "more than the 3"], "a row of 4 fields")
        expect_error(check, server, [["ten", "red", 50]], ["inputs[0]", "'size'", "'ten'", "not a finite number"],
                     "text in a numeric column")
        expect_error(check, server, [[10, ["red"], 50]], ["inputs[0][1]", "an array"], "an array as a field")
        status, _, _ = server.request("POST", "/v1/predict", {"inputs": queries[:1]})
        check(status == 200, "the server goes on answering after bad requests")
        check(server.stop() == 0, "SIGTERM: the server exits 0")

        # Numbers only, standardized, no fill: the numbers of a request are read as a CSV file's.
        numeric_train = os.path.join(tmp, "numeric.csv")
        write_table(numeric_train, [[r[0], COLORS.index(r[1]), r[2], r[3]] for r in make_rows(rng, 300, 0)])
        numeric = os.path.join(tmp, "numeric.safetensors")
        subprocess.run([args.mlp, "train", "--data", numeric_train, "--label-column", "kind", "--layers", "3-8-2",
                        "--epochs", "3", "--quiet", "--out", numeric], check=True)
        queries = [[rng.gauss(10, 3), rng.randrange(3), rng.gauss(50, 10)] for _ in range(256)]
        server = Server(args.mlp, numeric)
        status, _, body = server.request("POST", "/v1/predict", {"inputs": queries})
        ours = json.loads(body)["predictions"] if status == 200 else None
        reference = predict_file(args.mlp, numeric, queries, os.path.join(tmp, "n.csv"), "size,color,weight")
        check(status == 200 and ours == reference,
              "a standardized numeric table, 256 rows of 17-digit numbers: the same answers as mlp predict --json")
        expect_error(check, server, [[10, 1, None]], ["inputs[0]", "'weight'", "missing"],
                     "a missing value the model has no fill for")
        check(server.stop() == 0, "SIGTERM: the server exits 0")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return check.status()


if __name__ == "__main__":
    sys.exit(main())
