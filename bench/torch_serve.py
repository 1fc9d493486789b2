#!/usr/bin/python3
"""A minimal PyTorch server for comparison with `mlp serve` (bench/serve_bench.sh): the same
model file (loaded by python/mlp_torch.py), the same request and answer, on Python's standard
http.server (threaded, HTTP/1.1 keep-alive) with Debian's python3-torch.

usage: /usr/bin/python3 bench/torch_serve.py --model M [--port 0]   (prints the URL it serves)
"""
import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import torch  # noqa: E402
import mlp_torch  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    model, meta = mlp_torch.load_model(args.model)
    task = meta["task"]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # as mlp serve: no 40 ms wait on delayed ACKs

        def log_message(self, *_):
            pass

        def do_POST(self):
            if self.path != "/v1/predict":
                return self.reply(404, {"error": f"{self.path}: not found"})
            try:
                inputs = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["inputs"]
                x = torch.tensor(inputs, dtype=torch.uint8 if meta.get("input", "pixels") == "pixels" else torch.float32)
                out = mlp_torch.predict(model, task, x)
            except Exception as e:  # a bad request
                return self.reply(400, {"error": str(e)})
            if task == "multiclass":
                predictions = [{"class": int(p.argmax()), "probabilities": p.tolist()} for p in out]
            else:
                predictions = [{"output": p.tolist()} for p in out]
            self.reply(200, {"predictions": predictions})

        def reply(self, status, body):
            data = (json.dumps(body) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"torch_serve: http://127.0.0.1:{server.server_address[1]}/ (torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
