"""Helpers of the Python serve tests: start and stop `mlp serve`, HTTP calls, MNIST test images."""
import atexit
import gzip
import http.client
import json
import os
import re
import signal
import subprocess
import time


class Server:
    """`mlp serve` on a free port (--port 0); killed at exit whatever the test did."""

    def __init__(self, mlp, model, *extra):
        self.process = subprocess.Popen([mlp, "serve", "--model", model, "--port", "0", *extra],
                                        stdout=subprocess.PIPE, text=True)
        atexit.register(self.kill)
        line = self.process.stdout.readline()
        match = re.search(r"http://[^:]+:(\d+)/", line)
        if not match:
            self.kill()
            raise RuntimeError(f"mlp serve printed no address: {line!r}")
        self.port = int(match.group(1))

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout=10):
        """SIGTERM; the exit status, or None if it had to be killed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        return self.process.returncode

    def rss_kib(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

    def request(self, method, path, body=None, headers=None, timeout=30):
        """(status, headers, body bytes) of one request on a new connection."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()


def is_json_error(status, headers, body):
    """A 4xx whose body is one line of JSON {"error": "..."}."""
    text = body.decode("utf-8", "replace")
    try:
        error = json.loads(text)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return 400 <= status < 500 and headers.get("Content-Type") == "application/json" and \
        text.count("\n") == 1 and text.endswith("\n") and isinstance(error, str) and error


def read_mnist_test(folder, count):
    """The first `count` test images (lists of 784 ints) and labels of an MNIST folder."""
    def read(name):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            with open(path, "rb") as f:
                return f.read()
        with gzip.open(path + ".gz") as f:
            return f.read()
    images, labels = read("t10k-images-idx3-ubyte"), read("t10k-labels-idx1-ubyte")
    return ([list(images[16 + i * 784:16 + (i + 1) * 784]) for i in range(count)], list(labels[8:8 + count]))


def mlp_predict(mlp, model, rows, directory):
    """`mlp predict --json` on the rows (written as an unlabelled CSV file): its predictions."""
    path = os.path.join(directory, f"inputs-{os.getpid()}-{time.monotonic_ns()}.csv")
    with open(path, "w") as f:
        f.writelines(",".join(str(v) for v in row) + "\n" for row in rows)
    try:
        out = subprocess.run([mlp, "predict", "--json", "--model", model, "--input", path],
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out)["predictions"]
    finally:
        os.remove(path)


class Checks:
    """ok/FAIL lines and the exit status."""

    def __init__(self):
        self.failed = []

    def __call__(self, ok, what):
        print(("ok   " if ok else "FAIL ") + what, flush=True)
        if not ok:
            self.failed.append(what)
        return ok

    def status(self):
        print(f"{len(self.failed)} check(s) failed" if self.failed else "all checks passed")
        return 1 if self.failed else 0
