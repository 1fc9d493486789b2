"""Tests for mlp_torch: safetensors round trips, header bytes, model layout, IDX reading.

run: /usr/bin/python3 -m unittest discover -s python -v   (from the repository root),
     or /usr/bin/python3 python/test_mlp_torch.py (as CTest does: exits 77 without torch)
"""
import gzip
import json
import os
import struct
import sys
import tempfile
import unittest
import warnings

try:
    import torch
    from torch import nn
except ImportError as e:
    if __name__ == "__main__":  # as a CTest test: skipped (SKIP_RETURN_CODE 77), not failed
        print(f"SKIP: PyTorch cannot be imported by {sys.executable} ({e})")
        sys.exit(77)
    raise

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mlp_torch  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASHION_LABELS = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"
SHARED_IMAGES = os.path.join(REPO, "..", "shared", "data", "mnist", "t10k-images-idx3-ubyte.gz")


def header_of(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    return blob, n, json.loads(blob[8 : 8 + n])


class Tmp(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def path(self, name="m.safetensors"):
        return os.path.join(self.dir.name, name)

    def write_raw(self, header_obj, data=b"", name="raw.safetensors", pad=True):
        head = json.dumps(header_obj).encode()
        if pad:
            head += b" " * (-len(head) % 8)
        with open(self.path(name), "wb") as f:
            f.write(struct.pack("<Q", len(head)) + head + data)
        return self.path(name)


class TestModelRoundTrip(Tmp):
    def test_sequential_784_32_16_10_relu(self):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10))
        mlp_torch.save_model(self.path(), model, "relu", "multiclass")
        loaded, meta = mlp_torch.load_model(self.path())
        self.assertEqual(meta, {"layers": "784-32-16-10", "activation": "relu", "task": "multiclass"})
        self.assertEqual([type(m) for m in loaded], [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear])
        x = torch.rand(64, 784)
        with torch.no_grad():
            self.assertTrue(torch.equal(model(x), loaded(x)))
        p = mlp_torch.predict(loaded, "multiclass", x)
        self.assertEqual(tuple(p.shape), (64, 10))
        self.assertTrue(torch.allclose(p.sum(dim=1), torch.ones(64)))

    def test_header_bytes(self):
        model = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10))
        mlp_torch.save_model(self.path(), model, "relu", "multiclass")
        blob, n, header = header_of(self.path())
        self.assertEqual(n % 8, 0)  # data starts 8-aligned
        self.assertEqual(blob[8:9], b"{")
        self.assertTrue(blob[8 : 8 + n].rstrip(b" ").endswith(b"}"))
        self.assertEqual(list(header)[0], "__metadata__")
        names = [k for k in header if k != "__metadata__"]
        self.assertEqual(names, ["layers.0.bias", "layers.0.weight", "layers.1.bias",
                                 "layers.1.weight", "layers.2.bias", "layers.2.weight"])
        pos = 0
        for name in names:
            info = header[name]
            self.assertEqual(info["dtype"], "F32")
            self.assertEqual(info["data_offsets"][0], pos)
            pos = info["data_offsets"][1]
        self.assertEqual(pos, len(blob) - 8 - n)
        self.assertEqual(header["layers.0.weight"]["shape"], [32, 784])
        # first weight, row-major, little-endian f32
        start = 8 + n + header["layers.0.weight"]["data_offsets"][0]
        w0 = struct.unpack("<2f", blob[start : start + 8])
        self.assertEqual(w0, tuple(model[0].weight[0, :2].tolist()))
        self.assertEqual(oct(os.stat(self.path()).st_mode & 0o777), oct(0o666 & ~_umask()))

    def test_same_input_same_bytes(self):
        t = {"b": torch.arange(3.0), "layers.10.x": torch.ones(2), "layers.2.x": torch.zeros(1, 2)}
        mlp_torch.save_state(self.path("a"), t, {"k": "v"})
        mlp_torch.save_state(self.path("b"), dict(reversed(list(t.items()))), {"k": "v"})
        with open(self.path("a"), "rb") as fa, open(self.path("b"), "rb") as fb:
            self.assertEqual(fa.read(), fb.read())
        _, _, header = header_of(self.path("a"))
        self.assertEqual(list(header), ["__metadata__", "b", "layers.2.x", "layers.10.x"])

    def test_binary_tanh_and_linear(self):
        model = nn.Sequential(nn.Linear(784, 8), nn.Tanh(), nn.Linear(8, 1))
        mlp_torch.save_model(self.path(), model, "tanh", "binary", positive=3)
        loaded, meta = mlp_torch.load_model(self.path())
        self.assertEqual(meta["positive"], "3")
        x = torch.rand(5, 784)
        p = mlp_torch.predict(loaded, "binary", x)
        self.assertEqual(tuple(p.shape), (5,))
        self.assertTrue(torch.equal(p, torch.sigmoid(model(x)[:, 0]).detach()))
        # a plain list of Linear layers, identity activation, regression
        lins = [nn.Linear(784, 4), nn.Linear(4, 2)]
        mlp_torch.save_model(self.path("r"), lins, "linear", "regression")
        loaded, meta = mlp_torch.load_model(self.path("r"))
        self.assertEqual(meta["layers"], "784-4-2")
        with torch.no_grad():
            self.assertTrue(torch.allclose(mlp_torch.predict(loaded, "regression", x), lins[1](lins[0](x))))

    def test_input_features_or_pixels(self):
        lins = [nn.Linear(8, 3), nn.Linear(3, 1)]
        mlp_torch.save_model(self.path(), lins, "tanh", "regression", input="features")
        _, meta = mlp_torch.load_model(self.path())
        self.assertEqual(meta["input"], "features")
        mlp_torch.save_model(self.path(), lins, "tanh", "regression")  # absent: mlp assumes pixels
        self.assertNotIn("input", mlp_torch.load_model(self.path())[1])
        with self.assertRaises(ValueError):
            mlp_torch.save_model(self.path("bad"), lins, "tanh", "regression", input="floats")
        tensors, meta = mlp_torch.load_state(self.path())
        mlp_torch.save_state(self.path("bad"), tensors, dict(meta, input="floats"))
        with self.assertRaises(ValueError) as cm:
            mlp_torch.load_model(self.path("bad"))
        self.assertIn("floats", str(cm.exception))

    def test_save_model_rejects_mismatches(self):
        cases = [
            (nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.Softmax(dim=1)), "relu", "multiclass"),
            (nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 2)), "relu", "multiclass"),
            (nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2)), "relu", "multiclass"),
            (nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)), "relu", "binary"),
            (nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(2, 2)), "relu", "multiclass"),
            (nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)), "gelu", "multiclass"),
        ]
        for model, act, task in cases:
            with self.subTest(model=model, act=act, task=task), self.assertRaises(ValueError):
                mlp_torch.save_model(self.path(), model, act, task)
        with self.assertRaises(ValueError):  # binary without positive
            mlp_torch.save_model(self.path(), [nn.Linear(4, 1)], "relu", "binary")
        self.assertFalse(os.path.exists(self.path()))
        self.assertEqual(os.listdir(self.dir.name), [])  # no temp files left


class TestLoadStateErrors(Tmp):
    def assertBad(self, path, fragment):
        with self.assertRaises(ValueError) as cm:
            mlp_torch.load_state(path)
        self.assertIn(path, str(cm.exception))
        self.assertIn(fragment, str(cm.exception))

    def test_malformed_files(self):
        good = {"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
        data = struct.pack("<2f", 1.5, -2.0)
        tensors, meta = mlp_torch.load_state(self.write_raw(good, data))
        self.assertEqual(tensors["t"].tolist(), [1.5, -2.0])
        self.assertEqual(meta, {})
        tensors, _ = mlp_torch.load_state(self.write_raw(good, data, pad=False))  # padding optional
        self.assertEqual(tensors["t"].tolist(), [1.5, -2.0])

        with open(self.path("short"), "wb") as f:
            f.write(b"\x01\x02")
        self.assertBad(self.path("short"), "too short")
        with open(self.path("huge"), "wb") as f:
            f.write(struct.pack("<Q", 1 << 40) + b"{}")
        self.assertBad(self.path("huge"), "does not fit")
        with open(self.path("json"), "wb") as f:
            f.write(struct.pack("<Q", 4) + b"{oops")
        self.assertBad(self.path("json"), "JSON")

        bad_cases = [
            ({"t": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}}, data[:4], "F16"),
            ({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, data, "needs 12 bytes"),
            ({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, data[:4], "outside"),
            ({"t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, data, "gap or overlap"),
            ({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, data, "cover 4"),
            ({"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, data[:4], "shape"),
            ({"t": {"dtype": "F32", "shape": [2]}}, data, "data_offsets"),
            ({"__metadata__": {"a": 1}, **good}, data, "__metadata__"),
            ([1, 2], b"", "not a JSON object"),
        ]
        for i, (obj, raw, fragment) in enumerate(bad_cases):
            with self.subTest(fragment=fragment):
                self.assertBad(self.write_raw(obj, raw, name=f"bad{i}"), fragment)

        dup = b'{"t":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"t":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}'
        with open(self.path("dup"), "wb") as f:
            f.write(struct.pack("<Q", len(dup)) + dup)
        self.assertBad(self.path("dup"), "duplicate")

    def test_empty_tensor_and_no_warnings(self):
        t = {"e": torch.zeros(0, 3), "s": torch.tensor(2.5)}
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            mlp_torch.save_state(self.path(), t)
            back, meta = mlp_torch.load_state(self.path())
        self.assertEqual(tuple(back["e"].shape), (0, 3))
        self.assertEqual(tuple(back["s"].shape), ())
        self.assertEqual(back["s"].item(), 2.5)
        back["s"].add_(1)  # loaded tensors are writable, not views of a read-only buffer

    def test_load_model_checks_layout(self):
        meta = {"layers": "4-3-2", "activation": "relu", "task": "multiclass"}
        ok = {"layers.0.weight": torch.zeros(3, 4), "layers.0.bias": torch.zeros(3),
              "layers.1.weight": torch.zeros(2, 3), "layers.1.bias": torch.zeros(2)}
        mlp_torch.save_state(self.path(), ok, meta)
        mlp_torch.load_model(self.path())
        bad = [
            (dict(ok, **{"layers.0.weight": torch.zeros(4, 3)}), meta, "expected [3, 4]"),
            ({k: v for k, v in ok.items() if k != "layers.1.bias"}, meta, "missing ['layers.1.bias']"),
            (ok, dict(meta, layers="4-3"), "unexpected"),
            (ok, dict(meta, layers="4x3x2"), "784-128-10"),
            (ok, dict(meta, activation="gelu"), "gelu"),
            (ok, dict(meta, task="ranking"), "ranking"),
            (ok, dict(meta, positive="3"), "only meaningful"),
            (ok, {"layers": "4-3-2", "activation": "relu"}, '"task"'),
        ]
        for i, (tensors, m, fragment) in enumerate(bad):
            with self.subTest(fragment=fragment):
                p = self.path(f"bad{i}")
                mlp_torch.save_state(p, tensors, m)
                with self.assertRaises(ValueError) as cm:
                    mlp_torch.load_model(p)
                self.assertIn(p, str(cm.exception))
                self.assertIn(fragment, str(cm.exception))


class TestIdx(Tmp):
    @unittest.skipUnless(os.path.exists(FASHION_LABELS), "Debian package dataset-fashion-mnist not installed")
    def test_fashion_labels(self):
        y = mlp_torch.read_idx(FASHION_LABELS)
        self.assertEqual(y.dtype, torch.uint8)
        self.assertEqual(tuple(y.shape), (10000,))
        self.assertEqual(torch.bincount(y.long()).tolist(), [1000] * 10)  # fashion t10k is balanced

    @unittest.skipUnless(os.path.exists(SHARED_IMAGES), "shared MNIST t10k images not present")
    def test_shared_mnist_images(self):
        x = mlp_torch.read_idx(SHARED_IMAGES)
        self.assertEqual(x.dtype, torch.uint8)
        self.assertEqual(tuple(x.shape), (10000, 28, 28))
        self.assertEqual(int(x.max()), 255)
        self.assertEqual(int(x[:, 0, 0].max()), 0)  # MNIST corners are blank

    def test_raw_and_gz_agree_and_errors(self):
        payload = bytes(range(24))
        raw = struct.pack(">BBBB3I", 0, 0, 8, 3, 2, 3, 4) + payload
        with open(self.path("a"), "wb") as f:
            f.write(raw)
        with open(self.path("a.gz"), "wb") as f:
            f.write(gzip.compress(raw))
        a, b = mlp_torch.read_idx(self.path("a")), mlp_torch.read_idx(self.path("a.gz"))
        self.assertTrue(torch.equal(a, b))
        self.assertEqual(tuple(a.shape), (2, 3, 4))
        self.assertEqual(a[1, 2, 3].item(), 23)
        for name, blob, fragment in [
            ("trunc", raw[:-1], "needs 24 data bytes"),
            ("magic", b"\x01" + raw[1:], "not an IDX"),
            ("float", raw[:2] + b"\x0d" + raw[3:], "0x0d"),
            ("tiny", raw[:2], "too short"),
            ("dims", raw[:8], "does not fit"),
        ]:
            with self.subTest(name=name):
                with open(self.path(name), "wb") as f:
                    f.write(blob)
                with self.assertRaises(ValueError) as cm:
                    mlp_torch.read_idx(self.path(name))
                self.assertIn(self.path(name), str(cm.exception))
                self.assertIn(fragment, str(cm.exception))

    def test_load_mnist_and_example(self):
        images = struct.pack(">4I", 0x803, 3, 28, 28) + bytes([0, 255, 51]) * 784
        labels = struct.pack(">2I", 0x801, 3) + bytes([7, 1, 1])
        with open(self.path("t10k-images-idx3-ubyte.gz"), "wb") as f:
            f.write(gzip.compress(images))
        with open(self.path("t10k-labels-idx1-ubyte"), "wb") as f:
            f.write(labels)
        x, y = mlp_torch.load_mnist(self.dir.name, "t10k")
        self.assertEqual(tuple(x.shape), (3, 784))
        self.assertTrue(torch.allclose(x[0, :3], torch.tensor([0.0, 1.0, 0.2])))
        self.assertEqual(y.tolist(), [7, 1, 1])
        # "is it a 7?" says yes when the first pixel is dark or grey: right, right, wrong
        lin = nn.Linear(784, 1)
        with torch.no_grad():
            lin.weight.zero_()
            lin.weight[0, 0] = -10.0
            lin.bias.fill_(5.0)
        mlp_torch.save_model(self.path(), [lin], "relu", "binary", positive=7)
        import subprocess
        out = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "example_load.py"),
                              self.path(), self.dir.name], capture_output=True, text=True, check=True)
        self.assertIn("accuracy 0.6667 on 3 t10k images", out.stdout)


def _umask():
    u = os.umask(0)
    os.umask(u)
    return u


class TestPreprocess(Tmp):
    META = {
        "preprocessing": json.dumps({
            "scaling": "standard", "imputation": "mean", "header": True, "file_columns": 4,
            "columns": [
                {"name": "a", "index": 0, "center": 2.0, "scale": 0.8164966106414795, "fill": 2.0},
                {"name": "color", "index": 1, "categories": ["blue", "red"], "fill": 1},
                {"name": "b", "index": 2, "center": 5.0, "scale": 1.0},
            ],
            "labels": [{"name": "species", "index": 3}],
        }),
        "classes": json.dumps(["setosa", "versicolor", "virginica"]),
    }

    def test_scaling_one_hot_and_fill_in_float32(self):
        x = mlp_torch.preprocess(self.META, [[1, "red", 7], ["NA", None, "5"], [3.5, "blue", 5.5]])
        self.assertEqual(x.dtype, torch.float32)
        self.assertEqual(list(x.shape), [3, 4])
        a = torch.tensor([1.0, 2.0, 3.5], dtype=torch.float32)
        expected = (a - torch.tensor(2.0)) / torch.tensor(0.8164966106414795, dtype=torch.float32)
        self.assertTrue(torch.equal(x[:, 0], expected))  # the same bits, not merely close
        self.assertEqual(x[:, 1:3].tolist(), [[0, 1], [0, 1], [1, 0]])  # missing color: fill 1, "red"
        self.assertEqual(x[:, 3].tolist(), [2.0, 0.0, 0.5])
        self.assertEqual(mlp_torch.class_names(self.META), ["setosa", "versicolor", "virginica"])

    def test_unseen_category_and_unfilled_missing_value(self):
        with self.assertRaisesRegex(ValueError, "category 'green' was not seen"):
            mlp_torch.preprocess(self.META, [[1, "green", 5]])
        with self.assertRaisesRegex(ValueError, "column 'b': missing value"):
            mlp_torch.preprocess(self.META, [[1, "red", "NaN"]])

    def test_model_with_preprocessing_loads_and_checks_its_inputs(self):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
        mlp_torch.save_model(self.path(), model, "relu", "multiclass", input="features")
        tensors, meta = mlp_torch.load_state(self.path())
        mlp_torch.save_state(self.path(), tensors, dict(meta, **self.META))
        _, loaded = mlp_torch.load_model(self.path())
        self.assertIn("preprocessing", loaded)
        wrong = {**meta, **self.META, "classes": json.dumps(["a", "b"])}
        mlp_torch.save_state(self.path("bad.safetensors"), tensors, wrong)
        with self.assertRaisesRegex(ValueError, "classes names 2 classes"):
            mlp_torch.load_model(self.path("bad.safetensors"))

    def test_without_preprocessing_rows_pass_as_they_are(self):
        self.assertEqual(mlp_torch.preprocess({}, [[1, 2]]).tolist(), [[1.0, 2.0]])


if __name__ == "__main__":
    unittest.main()
