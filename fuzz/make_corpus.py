#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/: a few small valid files and a few broken
ones for each fuzz target. Deterministic; run it again after changing it (python3, standard
library only)."""
import gzip
import json
import os
import shutil
import struct
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


# IDX: one input packs two files, see fuzz_idx.cpp: [labelled flag][images length, 2 bytes LE][images][labels].
def idx(magic_dims, dims, payload):
    return bytes([0, 0, 0x08, magic_dims]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(payload)


def pack(images, labels=None):
    return bytes([labels is not None]) + struct.pack("<H", len(images)) + images + (labels or b"")


images = idx(3, [3, 2, 2], range(12))
labels = idx(1, [3], [0, 1, 2])
write("idx", "valid_labelled", pack(images, labels))
write("idx", "valid_unlabelled", pack(images))
write("idx", "valid_gzip_images", pack(gz(images), labels))
write("idx", "valid_gzip_both", pack(gz(images), gz(labels)))
write("idx", "valid_4d", pack(idx(4, [2, 1, 2, 2], range(8)), idx(1, [2], [5, 9])))
write("idx", "valid_2d", pack(idx(2, [2, 3], range(6)), idx(1, [2], [1, 0])))
write("idx", "bad_magic", pack(bytes([0, 0, 0x0D, 3]) + images[4:], labels))
write("idx", "bad_truncated", pack(images[:-3], labels))
write("idx", "bad_lying_dims", pack(idx(3, [0xFFFFFFFF, 0xFFFF, 0xFFFF], range(12)), labels))
write("idx", "bad_extra_bytes", pack(images + b"\x00\x01", labels))
write("idx", "bad_count_mismatch", pack(images, idx(1, [4], [0, 1, 2, 3])))
write("idx", "bad_gzip_truncated", pack(gz(images)[:-6], labels))
write("idx", "bad_zero_features", pack(idx(3, [3, 0, 2], []), labels))

# CSV: read in the MNIST form, as general numeric with label column 0, and unlabelled.
write("csv", "mnist_form", "7,0,255,12,0\n2,1,2,3,4\n0,0,0,0,0\n")
write("csv", "mnist_form_header", "label,p0,p1,p2,p3\r\n1,0,10,20,30\r\n9,255,255,0,0\r\n")
write("csv", "numeric_header", 'price,"rooms",area\n1.5e5, 3, 72.25\n-2.5,1,0.001\n')
write("csv", "numeric_blank_lines", "\n0.5,1,2\n\n  1.5\t,-3,4e-3\n\n")
write("csv", "bad_ragged", "1,2,3\n4,5\n")
write("csv", "bad_nan_inf", "1,nan,3\n2,inf,-inf\n")
write("csv", "bad_pixel", "3,256,1.5,-1\n")
write("csv", "bad_header_only", "a,b,c\n")
write("csv", "bad_single_column", "1\n2\n")


# Model files in the safetensors layout, as save_model writes them.
def model(layers, activation="relu", task="multiclass", extra_meta=None, tamper=None, checksum=False):
    sizes = [int(s) for s in layers.split("-")]
    meta = {"format": "mlp", "layers": layers, "activation": activation, "task": task, "input": "features"}
    if task == "binary":
        meta["positive"] = "3"
    meta.update(extra_meta or {})
    header, data = {"__metadata__": meta}, b""
    for i in range(len(sizes) - 1):
        n_in, n_out = sizes[i], sizes[i + 1]
        w = struct.pack("<%df" % (n_in * n_out), *[(k % 7 - 3) / 8 for k in range(n_in * n_out)])
        header["layers.%d.weight" % i] = {"dtype": "F32", "shape": [n_out, n_in], "data_offsets": [len(data), len(data) + len(w)]}
        data += w
        b = struct.pack("<%df" % n_out, *[0.125 * k for k in range(n_out)])
        header["layers.%d.bias" % i] = {"dtype": "F32", "shape": [n_out], "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    if checksum:  # as mlp writes it: CRC-32 of the canonical header without it, then the data
        canonical = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        meta["checksum"] = "crc32:%08x" % zlib.crc32(data, zlib.crc32(canonical))
    if tamper:
        tamper(header)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


write("model", "valid_4-3-2", model("4-3-2"))
write("model", "valid_binary_3-2-2-1", model("3-2-2-1", activation="tanh", task="binary"))
write("model", "valid_regression_2-1", model("2-1", activation="linear", task="regression", extra_meta={"note": "x"}))
good = model("4-3-2")
write("model", "bad_truncated", good[:-5])
write("model", "bad_header_length", struct.pack("<Q", 1 << 40) + good[8:])
write("model", "bad_json", good[:20] + b"}{" + good[22:])
write("model", "bad_shape", model("4-3-2", tamper=lambda h: h["layers.0.weight"].update(shape=[4, 3])))
write("model", "bad_dtype", model("4-3-2", tamper=lambda h: h["layers.1.bias"].update(dtype="F64")))
write("model", "bad_overlap", model("4-3-2", tamper=lambda h: h["layers.1.bias"].update(data_offsets=[0, 8])))
write("model", "bad_extra_tensor", model("4-3-2", tamper=lambda h: h.update({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})))
write("model", "bad_layers", model("4-3-2", extra_meta={"layers": "4-0-2"}))
write("model", "valid_checksum_4-3-2", model("4-3-2", checksum=True))
write("model", "bad_checksum_mismatch", model("4-3-2", checksum=True, tamper=lambda h: h["__metadata__"].update(task="regression")))
