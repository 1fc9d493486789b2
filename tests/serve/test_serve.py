#!/usr/bin/env python3
"""`mlp serve` over real HTTP on 127.0.0.1: answers equal to `mlp predict` bit for bit, the model
summary, health, bad requests (4xx with a one-line JSON error, and the server keeps serving), a
100 MB body refused before it is read, slow clients cut off without blocking others, the curl
examples of docs/serve.md, and SIGTERM letting the request in flight finish.

usage: python3 tests/serve/test_serve.py --mlp build/mlp --model M --binary-model B --data data/mnist
Exits 0 when every check holds, 1 otherwise.
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_client import Checks, Server, is_json_error, mlp_predict, read_mnist_test  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
READ_TIMEOUT = 0.5  # seconds; short so that the slow-client checks take seconds


def without_index(predictions):
    return [{k: v for k, v in p.items() if k != "index"} for p in predictions]


def raw_exchange(port, data, read_timeout=10):
    """Sends bytes on a new connection, then reads until the server closes: the reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        s.sendall(data)
        reply = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return reply
            reply += chunk


def check_predictions(check, args, server, images, tmp):
    for count in (1, 256):
        rows = images[:count]
        status, _, body = server.request("POST", "/v1/predict", {"inputs": rows})
        ours = json.loads(body)["predictions"] if status == 200 else None
        reference = without_index(mlp_predict(args.mlp, args.model, rows, tmp))
        check(status == 200 and ours == reference,
              f"POST /v1/predict, a batch of {count}: the same classes and probabilities as mlp predict --json, bit for bit")
    status, _, body = server.request("POST", "/v1/predict", {"inputs": images[:2], "hidden": True})
    answer = json.loads(body)["predictions"] if status == 200 else []
    reference = without_index(mlp_predict(args.mlp, args.model, images[:2], tmp))
    check(status == 200 and [{k: v for k, v in p.items() if k != "hidden"} for p in answer] == reference and
          all(len(p["hidden"]) == 1 and len(p["hidden"][0]) == 64 and min(p["hidden"][0]) >= 0 for p in answer),
          "\"hidden\": true adds the 64 ReLU activations of the hidden layer, the outputs unchanged")


def check_summary(check, args, server):
    status, _, body = server.request("GET", "/healthz")
    check(status == 200 and json.loads(body) == {"status": "ok"}, "GET /healthz: 200 {\"status\": \"ok\"}")
    status, _, body = server.request("GET", "/v1/model")
    show = json.loads(subprocess.run([args.mlp, "show", "--json", "--model", args.model], check=True,
                                     capture_output=True, text=True).stdout)
    check(status == 200 and json.loads(body) == show, "GET /v1/model: the mlp show --json summary")
    status, headers, body = server.request("GET", "/")
    check(status == 200 and headers.get("Content-Type", "").startswith("text/html") and b"<canvas" in body and
          b"http" not in body.replace(b"http-equiv", b""), "GET /: the page, with nothing fetched from elsewhere")
    for path in ("/app.js", "/mnist_input.js", "/style.css", "/favicon.svg"):
        status, _, body = server.request("GET", path)
        with open(os.path.join(HERE, "..", "..", "web", path[1:]), "rb") as f:
            check(status == 200 and body == f.read(), f"GET {path}: the file in web/")


def check_bad_requests(check, server, image):
    ok_input = {"inputs": [image]}
    cases = [
        ("malformed JSON", '{"inputs": [[1, 2'),
        ("not JSON at all", "hello"),
        ("input of 783 numbers", {"inputs": [image[:-1]]}),
        ("input of 785 numbers", {"inputs": [image + [0]]}),
        ("strings instead of numbers", {"inputs": [[str(v) for v in image]]}),
        ("a NaN", '{"inputs": [[NaN' + ", 0" * 783 + "]]}"),
        ("an Infinity", '{"inputs": [[Infinity' + ", 0" * 783 + "]]}"),
        ("a number too large for a double", '{"inputs": [[1e999' + ", 0" * 783 + "]]}"),
        ("a pixel of 256", {"inputs": [[256] + image[1:]]}),
        ("a negative pixel", {"inputs": [[-1] + image[1:]]}),
        ("a fractional pixel", {"inputs": [[0.5] + image[1:]]}),
        ("null in an input", {"inputs": [[None] + image[1:]]}),
        ("an empty list", {"inputs": []}),
        ("no \"inputs\"", {}),
        ("a flat list", {"inputs": image}),
        ("an array at the top", [image]),
        ("an unknown field", {"inputs": [image], "input": 1}),
        ("\"hidden\" not a boolean", {"inputs": [image], "hidden": 1}),
        ("an empty body", ""),
    ]
    for what, body in cases:
        status, headers, reply = server.request("POST", "/v1/predict", body, {"Content-Type": "application/json"})
        check(is_json_error(status, headers, reply) and status == 400,
              f"{what}: {status} {reply.decode(errors='replace').strip()}")
    status, headers, reply = server.request("GET", "/v2/predict")
    check(status == 404 and is_json_error(status, headers, reply), f"an unknown path: {status} {reply.decode().strip()}")
    for method, path in (("GET", "/v1/predict"), ("PUT", "/v1/predict"), ("DELETE", "/v1/model"), ("POST", "/healthz")):
        status, headers, reply = server.request(method, path, "" if method != "GET" else None)
        check(status == 405 and is_json_error(status, headers, reply) and headers.get("Allow") in ("GET", "POST"),
              f"{method} {path}: {status} {reply.decode().strip()}, Allow: {headers.get('Allow')}")
    status, _, _ = server.request("POST", "/v1/predict", ok_input)
    check(status == 200, "after all of them the server still answers")


def check_big_bodies(check, server):
    # 100 MB announced, 1 MB sent: the answer comes without the rest being read.
    mega = b"[" * (1 << 20)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100000000\r\n\r\n" + mega)
        start = time.monotonic()
        reply = b""
        try:
            while b"\r\n\r\n" not in reply or not reply.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
        except ConnectionResetError:
            pass
        took = time.monotonic() - start
    head, _, body = reply.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 413") and b"error" in body and took < 2,
          f"a 100 MB body (Content-Length) with 1 MB sent: 413 in {took:.2f} s, unread: {body.decode(errors='replace').strip()}")
    # Chunked, no length given: cut off at the limit (--max-body 4 MB here), not stored whole.
    chunk = b"100000\r\n" + b"[" * 0x100000 + b"\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        reply = b""
        try:
            for _ in range(100):
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while True:
                part = s.recv(65536)
                if not part:
                    break
                reply += part
        except ConnectionResetError:
            pass
    first_line = reply.split(b"\r\n")[0].decode(errors="replace") if reply else "no reply"
    check(reply.startswith(b"HTTP/1.1 413"), f"a 100 MB chunked body: {first_line}")
    status, _, _ = server.request("GET", "/healthz")
    check(status == 200, "the server still answers after the big bodies")


def check_slow_clients(check, server, image):
    # Two clients send a request one byte a second; meanwhile others are answered at once, and the
    # slow ones are cut off after the read timeout.
    request = b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 20\r\n\r\n{\"inputs\": [[1, 2]]}"
    outcomes = []

    def slow():
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            sent = 0
            try:
                for byte in request:
                    s.sendall(bytes([byte]))
                    sent += 1
                    time.sleep(1)
                    if time.monotonic() - start > 8:
                        break
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                s.settimeout(2)
                rest = s.recv(4096)
            except (ConnectionResetError, socket.timeout):
                rest = b""
        outcomes.append((sent, time.monotonic() - start, rest))

    threads = [threading.Thread(target=slow) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    latencies = []
    for _ in range(20):
        start = time.monotonic()
        status, _, _ = server.request("POST", "/v1/predict", {"inputs": [image]})
        latencies.append((status, time.monotonic() - start))
        time.sleep(0.05)
    for t in threads:
        t.join()
    check(all(s == 200 for s, _ in latencies) and max(t for _, t in latencies) < 0.5,
          f"while two clients send one byte a second, 20 other requests are answered (slowest {max(t for _, t in latencies) * 1000:.0f} ms)")
    check(len(outcomes) == 2 and all(sent < len(request) and took < 6 for sent, took, _ in outcomes),
          "the slow clients are cut off (bytes sent, seconds): " + ", ".join(f"({s}, {t:.1f})" for s, t, _ in outcomes))


def check_curl_examples(check, server, tmp):
    """The curl commands of docs/serve.md (and the python3 -c lines that make their inputs), run as
    written with the port changed, in a folder where data/ is the MNIST folder."""
    if not shutil.which("curl"):
        print("skip curl examples: no curl")
        return
    with open(os.path.join(HERE, "..", "..", "docs", "serve.md")) as f:
        doc = f.read()
    commands = re.findall(r"^\$ ((?:curl|python3 -c) .*)$", doc, re.M)
    check(sum(c.startswith("curl") for c in commands) >= 3, f"docs/serve.md has curl examples ({len(commands)})")
    os.symlink(os.path.abspath(os.path.join(HERE, "..", "..", "data")), os.path.join(tmp, "data"))
    for command in commands:
        command = command.replace("127.0.0.1:8080", f"127.0.0.1:{server.port}")
        result = subprocess.run(["sh", "-c", command], cwd=tmp, capture_output=True, text=True)
        writes_file = ">" in command.split("'")[-1]
        check(result.returncode == 0 and (writes_file or result.stdout.strip() != ""), f"docs/serve.md: {command[:90]}")


def check_sigterm_waits(check, args, image):
    server = Server(args.mlp, args.model, "--read-timeout", "5")
    body = json.dumps({"inputs": [image]}).encode()
    reply = []

    def client():
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
            s.sendall(body[:100])
            time.sleep(1)  # SIGTERM arrives now
            s.sendall(body[100:])
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            reply.append(data)

    t = threading.Thread(target=client)
    t.start()
    time.sleep(0.5)
    status = server.stop()
    t.join()
    check(status == 0 and reply and reply[0].startswith(b"HTTP/1.1 200") and b"probabilities" in reply[0],
          f"SIGTERM with a request in flight: it is answered, then the server exits {status}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mlp", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--binary-model", required=True)
    parser.add_argument("--data", default="data/mnist")
    args = parser.parse_args()
    if not os.path.exists(args.model):
        print(f"SKIP: no model {args.model} (the serve_models test trains it from data/mnist)")
        return 77
    check = Checks()
    images, _ = read_mnist_test(args.data, 256)
    tmp = tempfile.mkdtemp(prefix="mlp-serve-test-")
    try:
        server = Server(args.mlp, args.model, "--threads", "4", "--read-timeout", str(READ_TIMEOUT),
                        "--max-body", str(4 << 20))
        check_summary(check, args, server)
        check_predictions(check, args, server, images, tmp)
        check_bad_requests(check, server, images[0])
        check_big_bodies(check, server)
        check_slow_clients(check, server, images[0])
        check_curl_examples(check, server, tmp)
        check(server.stop() == 0, "SIGTERM: the server exits 0")

        binary = Server(args.mlp, args.binary_model)
        status, _, body = binary.request("POST", "/v1/predict", {"inputs": images[:8]})
        reference = without_index(mlp_predict(args.mlp, args.binary_model, images[:8], tmp))
        check(status == 200 and json.loads(body)["predictions"] == reference and "probability" in reference[0],
              "a binary model: class and probability as mlp predict --json")
        binary.stop()

        check_sigterm_waits(check, args, images[0])

        # Another server on a port in use fails with one line, instead of sharing the port.
        server = Server(args.mlp, args.model)
        result = subprocess.run([args.mlp, "serve", "--model", args.model, "--port", str(server.port)],
                                capture_output=True, text=True, timeout=10)
        check(result.returncode != 0 and result.stderr.count("\n") == 1 and "--port" in result.stderr,
              f"a port in use: exit {result.returncode}, {result.stderr.strip()}")
        server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return check.status()


if __name__ == "__main__":
    sys.exit(main())
