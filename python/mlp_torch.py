"""Use `mlp` models in PyTorch: read/write its safetensors files, rebuild the network, read MNIST IDX files.

Needs only torch and the standard library (numpy is used when present, to write faster).

File format (safetensors, as `mlp` writes it):

    8 bytes    N, little-endian u64: length of the JSON header
    N bytes    JSON header, padded with spaces so that 8 + N is a multiple of 8:
               {"__metadata__": {"layers": "784-128-10", "activation": "relu", ...},
                "layers.0.weight": {"dtype": "F32", "shape": [128, 784], "data_offsets": [0, 401408]},
                ...}
    the rest   raw little-endian float32 data; data_offsets count from the first byte after
               the header, and the tensors cover that data exactly, without gaps or overlap.

Checksum: "__metadata__" holds "checksum": "crc32:xxxxxxxx", zlib's CRC-32 of the header's
canonical JSON without that entry (json.dumps(..., sort_keys=True, separators=(",", ":"),
ensure_ascii=False), UTF-8) followed by the data bytes. save_state writes it, load_state checks
it when present (files from PyTorch's safetensors have none) and leaves it out of the metadata.

Model layout, for L layers (i = 0..L-1):

    layers.{i}.weight   [n_out, n_in], row-major: exactly nn.Linear.weight
    layers.{i}.bias     [n_out]
    metadata            layers      sizes joined by "-", e.g. "784-128-10"
                        activation  hidden activation: relu | sigmoid | tanh | linear
                        task        binary | multiclass | regression
                        positive    the positive digit, binary task only, e.g. "3"
                        input       pixels (uint8 images, scaled by 1/255) | features
                                    (floats, e.g. CSV columns); absent: pixels
                        preprocessing  JSON, feature models trained on a table: what turns
                                    the file's raw columns into network inputs (see
                                    docs/tabular.md and `preprocess`); absent: inputs as they are
                        classes     JSON array of the class names; absent: class c is c
                        (mlp also writes format, epochs and seed; readers ignore them)

The network is nn.Sequential(Linear, act, Linear, act, ..., Linear): no output activation
inside it. Its output is a logit (binary), class logits (multiclass) or the prediction
itself (regression); `predict` applies the task's output function.

Quick use:

    model, meta = load_model("model.safetensors")
    x, y = load_mnist("data/mnist", "t10k")
    p = predict(model, meta["task"], x)

A model trained on a table takes raw rows: `preprocess(meta, rows)` gives its inputs with the
same float32 arithmetic as mlp, and `class_names(meta)` names its classes.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import struct
import sys
import tempfile
import zlib
from array import array
from typing import Mapping

import torch
from torch import nn

__all__ = [
    "load_state",
    "save_state",
    "load_model",
    "save_model",
    "predict",
    "read_idx",
    "load_mnist",
    "preprocess",
    "class_names",
    "ACTIVATIONS",
    "TASKS",
    "INPUTS",
]

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "linear": nn.Identity}
TASKS = ("binary", "multiclass", "regression")
INPUTS = ("pixels", "features")

_MAX_HEADER = 100_000_000  # the same cap as the reference safetensors reader


# --------------------------------------------------------------------------- safetensors


def load_state(path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a safetensors file of F32 tensors.

    Returns (tensors, metadata): tensors maps each name to a float32 tensor of the stored
    shape (in file order); metadata is the "__metadata__" map of strings ({} if absent).
    Raises ValueError naming the file when anything in it is malformed.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        blob = f.read()

    def bad(msg: str) -> ValueError:
        return ValueError(f"{path}: {msg}")

    if len(blob) < 8:
        raise bad(f"file is {len(blob)} bytes, too short for the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > _MAX_HEADER or n > len(blob) - 8:
        raise bad(f"header length {n} does not fit in a file of {len(blob)} bytes")
    try:
        header = json.loads(blob[8 : 8 + n].decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError) as e:
        raise bad(f"header is not valid UTF-8 JSON: {e}") from None
    if not isinstance(header, dict):
        raise bad("header is not a JSON object")

    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise bad('"__metadata__" must map strings to strings')
    if "checksum" in metadata:
        stated = metadata.pop("checksum")
        actual = _checksum({**header, "__metadata__": metadata}, [blob[8 + n :]])
        if stated != actual:
            raise bad(f"corrupt: checksum mismatch (the file says {stated}, its contents give {actual})")
    elif b'"crc32:' in blob[8 : 8 + n]:
        raise bad('corrupt: the header holds a crc32 value but no "checksum" entry')

    data = memoryview(blob)[8 + n :]
    entries = []
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise bad(f'tensor "{name}": entry must have exactly dtype, shape and data_offsets')
        if info["dtype"] != "F32":
            raise bad(f'tensor "{name}": dtype {info["dtype"]!r} is not supported (only F32)')
        shape, offsets = info["shape"], info["data_offsets"]
        if not isinstance(shape, list) or not all(_is_uint(d) for d in shape):
            raise bad(f'tensor "{name}": shape {shape!r} is not a list of non-negative integers')
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_uint, offsets))):
            raise bad(f'tensor "{name}": data_offsets {offsets!r} is not [begin, end]')
        begin, end = offsets
        count = _prod(shape)
        if not begin <= end <= len(data):
            raise bad(f'tensor "{name}": data_offsets [{begin}, {end}] outside the '
                      f"{len(data)} data bytes")
        if end - begin != 4 * count:
            raise bad(f'tensor "{name}": shape {shape} needs {4 * count} bytes, '
                      f"data_offsets give {end - begin}")
        entries.append((begin, end, name, shape))

    # As the reference reader does: the tensors must tile the data area exactly.
    pos = 0
    for begin, end, name, _ in sorted(entries):
        if begin != pos:
            raise bad(f'tensor "{name}" starts at byte {begin}, expected {pos} '
                      "(gap or overlap in data_offsets)")
        pos = end
    if pos != len(data):
        raise bad(f"tensors cover {pos} data bytes but the file has {len(data)}")

    tensors = {name: _f32_from_bytes(data[begin:end], shape) for begin, end, name, shape in entries}
    return tensors, dict(metadata)


def save_state(path, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str] | None = None):
    """Write tensors (converted to float32) and string metadata as a safetensors file.

    Tensors are stored in natural name order ("layers.2" before "layers.10"), so the same
    input always gives the same bytes. The header is padded with spaces to a multiple of 8.
    The file is written to a temporary file beside `path`, then renamed over it.
    """
    path = os.fspath(path)
    metadata = dict(metadata or {})
    for k, v in metadata.items():
        if not (isinstance(k, str) and isinstance(v, str)):
            raise TypeError(f"{path}: metadata must map str to str, got {k!r}: {v!r}")
    for name in tensors:
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise ValueError(f"{path}: invalid tensor name {name!r}")

    metadata.pop("checksum", None)  # one read from another file: computed afresh below
    header: dict = {"__metadata__": metadata}
    chunks, offset = [], 0
    for name in sorted(tensors, key=_natural_key):
        t = tensors[name]
        if not isinstance(t, torch.Tensor):
            raise TypeError(f'{path}: tensor "{name}" is a {type(t).__name__}, not a torch.Tensor')
        if t.is_complex():
            raise TypeError(f'{path}: tensor "{name}" is complex; only real values can be F32')
        raw = _f32_to_bytes(t)
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)

    header["__metadata__"] = dict(metadata, checksum=_checksum(header, chunks))
    head = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    head += b" " * (-len(head) % 8)

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(head)))
            f.write(head)
            for raw in chunks:
                f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


# --------------------------------------------------------------------------- the mlp model


def load_model(path) -> tuple[nn.Sequential, dict[str, str]]:
    """Build the network stored in an mlp model file.

    Returns (model, metadata): model is nn.Sequential(Linear, act, ..., Linear) in float32
    and eval mode with the file's weights; metadata is the file's metadata.
    Raises ValueError naming the file if the tensors or metadata do not match the layout.
    """
    path = os.fspath(path)
    tensors, meta = load_state(path)

    def bad(msg: str) -> ValueError:
        return ValueError(f"{path}: {msg}")

    for key in ("layers", "activation", "task"):
        if key not in meta:
            raise bad(f'metadata has no "{key}"')
    if not re.fullmatch(r"[1-9][0-9]*(-[1-9][0-9]*)+", meta["layers"]):
        raise bad(f'metadata layers={meta["layers"]!r} is not like "784-128-10"')
    sizes = [int(s) for s in meta["layers"].split("-")]
    activation, task = meta["activation"], meta["task"]
    if activation not in ACTIVATIONS:
        raise bad(f"activation {activation!r} is not one of {', '.join(ACTIVATIONS)}")
    _check_task(task, sizes[-1], meta.get("positive"), bad)
    _check_input(meta.get("input"), bad)
    try:
        columns = _preprocessing(meta)
        names = class_names(meta)
    except ValueError as e:
        raise bad(str(e)) from None
    if columns is not None and _inputs(columns) != sizes[0]:
        raise bad(f"preprocessing gives {_inputs(columns)} inputs, but layers={meta['layers']} take {sizes[0]}")
    if names is not None and task == "multiclass" and len(names) != sizes[-1]:
        raise bad(f"classes names {len(names)} classes, but the network has {sizes[-1]}")

    expected = {f"layers.{i}.{p}" for i in range(len(sizes) - 1) for p in ("weight", "bias")}
    if set(tensors) != expected:
        missing, extra = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
        raise bad(f"tensors do not match layers={meta['layers']}: missing {missing}, unexpected {extra}")

    modules: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        w, b = tensors[f"layers.{i}.weight"], tensors[f"layers.{i}.bias"]
        if tuple(w.shape) != (n_out, n_in) or tuple(b.shape) != (n_out,):
            raise bad(f"layer {i}: weight {list(w.shape)} and bias {list(b.shape)}, "
                      f"expected [{n_out}, {n_in}] and [{n_out}]")
        linear = nn.Linear(n_in, n_out)
        with torch.no_grad():
            linear.weight.copy_(w)
            linear.bias.copy_(b)
        if modules:
            modules.append(ACTIVATIONS[activation]())
        modules.append(linear)
    return nn.Sequential(*modules).eval(), meta


def save_model(path, model_or_linears, activation: str, task: str, positive: int | str | None = None,
               input: str | None = None):
    """Write a network in the mlp layout.

    model_or_linears is either an nn.Sequential of nn.Linear layers with `activation`
    modules between them (nn.Identity and nn.Dropout are also allowed, as no-ops), or a
    plain sequence of nn.Linear layers. There must be no output activation: the task's
    output function (sigmoid, softmax, identity) belongs to the file's "task".
    positive (an integer label; a class index when the classes have names) is required for
    task "binary" and not allowed otherwise.
    input is "pixels" (images scaled by 1/255; what mlp assumes when it is absent) or
    "features" (float columns of a CSV file, e.g. for `mlp train --label-column`).
    """
    path = os.fspath(path)

    def bad(msg: str) -> ValueError:
        return ValueError(f"{path}: {msg}")

    if activation not in ACTIVATIONS:
        raise bad(f"activation {activation!r} is not one of {', '.join(ACTIVATIONS)}")
    linears = _linears_of(model_or_linears, activation, bad)
    if not linears:
        raise bad("no nn.Linear layers to save")
    for i, (a, b) in enumerate(zip(linears, linears[1:])):
        if a.out_features != b.in_features:
            raise bad(f"layer {i} gives {a.out_features} outputs but layer {i + 1} takes {b.in_features}")
    sizes = [linears[0].in_features] + [lin.out_features for lin in linears]
    positive = None if positive is None else str(positive)
    _check_task(task, sizes[-1], positive, bad)
    _check_input(input, bad)

    tensors = {}
    for i, lin in enumerate(linears):
        tensors[f"layers.{i}.weight"] = lin.weight
        tensors[f"layers.{i}.bias"] = (lin.bias if lin.bias is not None
                                       else torch.zeros(lin.out_features))
    meta = {"layers": "-".join(map(str, sizes)), "activation": activation, "task": task}
    if positive is not None:
        meta["positive"] = positive
    if input is not None:
        meta["input"] = input
    save_state(path, tensors, meta)


def predict(model: nn.Module, task: str, x) -> torch.Tensor:
    """Apply the model and the task's output function, without gradients.

    x: [m, n0] floats: pixel/255 in [0, 1] for an "input": "pixels" model, the features as
    they are for a "features" one. A uint8 tensor (e.g. from read_idx) is taken as raw
    pixels and divided by 255; [m, 28, 28] is flattened to [m, 784].
    Returns binary: P(positive), shape [m]; multiclass: class probabilities [m, k]
    (softmax); regression: the raw output [m, k].
    """
    if task not in TASKS:
        raise ValueError(f"task {task!r} is not one of {', '.join(TASKS)}")
    x = torch.as_tensor(x)
    x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
    x = x.reshape(x.shape[0], -1)
    with torch.no_grad():
        out = model(x)
    if task == "binary":
        if out.shape[1] != 1:
            raise ValueError(f"binary task needs 1 output unit, the model has {out.shape[1]}")
        return torch.sigmoid(out[:, 0])
    if task == "multiclass":
        return torch.softmax(out, dim=1)
    return out


# --------------------------------------------------------------------------- tables

_MISSING = {"", "NA", "N/A", "n/a", "NaN", "nan", "-nan", "-NaN", "NULL", "null", "None", "<NA>", "#N/A", "?"}


def _preprocessing(meta: Mapping[str, str]):
    """The "columns" of a model's preprocessing entry, checked; None without one."""
    text = meta.get("preprocessing")
    if text is None:
        return None
    try:
        entry = json.loads(text)
        columns = entry["columns"]
        for c in columns:
            if "categories" in c:
                if not c["categories"] or not all(isinstance(k, str) for k in c["categories"]):
                    raise ValueError(f"column {c['name']!r}: categories must be a non-empty list of strings")
            elif not (float(c["scale"]) > 0 and math.isfinite(float(c["center"]))):
                raise ValueError(f"column {c['name']!r}: bad center or scale")
        return columns
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"metadata preprocessing is malformed: {e}") from None


def _inputs(columns) -> int:
    return sum(len(c["categories"]) if "categories" in c else 1 for c in columns)


def class_names(meta: Mapping[str, str]) -> list[str] | None:
    """The names of classes 0..k-1 from a model's metadata, or None when class c is just c."""
    text = meta.get("classes")
    if text is None:
        return None
    try:
        names = json.loads(text)
    except ValueError as e:
        raise ValueError(f"metadata classes is not JSON: {e}") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError("metadata classes must be a JSON array of strings")
    return names


def preprocess(meta: Mapping[str, str], rows) -> torch.Tensor:
    """Network inputs [m, n0] float32 from raw table rows, as mlp computes them.

    rows: a sequence of rows, one value per feature column of the training file (in the order
    of the metadata's columns): numbers or numeric strings, category strings for categorical
    columns, and None, NaN or "NA" (and the like) for missing values. A numeric 2-D tensor or
    array is accepted too when no column is categorical. A model without "preprocessing" takes
    its inputs as they are: the rows come back as float32.
    Each number becomes (x - center) / scale in float32, exactly as mlp does; a missing value
    is first the column's fill (an error without one); a category becomes its one-hot inputs.
    """
    columns = _preprocessing(meta)
    if isinstance(rows, torch.Tensor):
        rows = rows.tolist()
    elif hasattr(rows, "tolist"):
        rows = rows.tolist()
    if columns is None:
        return torch.tensor(rows, dtype=torch.float32)
    m, n = len(rows), _inputs(columns)
    numeric = [i for i, c in enumerate(columns) if "categories" not in c]
    raw = torch.empty(m, len(numeric), dtype=torch.float32)
    out = torch.zeros(m, n, dtype=torch.float32)
    for s, row in enumerate(rows):
        if len(row) != len(columns):
            raise ValueError(f"row {s}: {len(row)} values, the model takes {len(columns)} columns")
        at = 0
        k = 0
        for i, c in enumerate(columns):
            v = row[i]
            missing = v is None or (isinstance(v, str) and v.strip() in _MISSING) or (isinstance(v, float) and math.isnan(v))
            if missing:
                if "fill" not in c:
                    raise ValueError(f"row {s}: column {c['name']!r}: missing value, and the model has no fill for it")
                v = c["fill"]
            if "categories" in c:
                if missing:
                    index = int(v)
                elif str(v) in c["categories"]:
                    index = c["categories"].index(str(v))
                else:
                    raise ValueError(f"row {s}: column {c['name']!r}: category {v!r} was not seen in training")
                out[s, at + index] = 1
                at += len(c["categories"])
            else:
                raw[s, k] = float(v)
                k += 1
                at += 1
    # The numbers, column by column, in float32 tensors: the same roundings as mlp's floats.
    at = 0
    k = 0
    for c in columns:
        if "categories" in c:
            at += len(c["categories"])
            continue
        center = torch.tensor(c["center"], dtype=torch.float32)
        scale = torch.tensor(c["scale"], dtype=torch.float32)
        out[:, at] = (raw[:, k] - center) / scale
        at += 1
        k += 1
    return out


# --------------------------------------------------------------------------- IDX (MNIST)


def read_idx(path) -> torch.Tensor:
    """Read an IDX file of unsigned bytes (raw or gzip-compressed) into a uint8 tensor.

    The header is two zero bytes, the type code 0x08 (ubyte), the number of dimensions,
    then each dimension as a big-endian u32: MNIST images are 0x00000803 [n, 28, 28],
    labels 0x00000801 [n]. The result has the header's shape.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:2] == b"\x1f\x8b":  # gzip magic, whatever the file name says
        try:
            blob = gzip.decompress(blob)
        except (OSError, EOFError) as e:
            raise ValueError(f"{path}: bad gzip data: {e}") from None
    if len(blob) < 4:
        raise ValueError(f"{path}: file is {len(blob)} bytes, too short for an IDX header")
    zero, dtype, ndim = struct.unpack(">HBB", blob[:4])
    if zero != 0:
        raise ValueError(f"{path}: magic {blob[:4].hex()} does not start with 0000, not an IDX file")
    if dtype != 0x08:
        raise ValueError(f"{path}: IDX type code 0x{dtype:02x} is not supported (only 0x08, ubyte)")
    if ndim == 0 or len(blob) < 4 + 4 * ndim:
        raise ValueError(f"{path}: IDX header with {ndim} dimensions does not fit in {len(blob)} bytes")
    shape = list(struct.unpack(f">{ndim}I", blob[4 : 4 + 4 * ndim]))
    start = 4 + 4 * ndim
    count = _prod(shape)
    if len(blob) - start != count:
        raise ValueError(f"{path}: shape {shape} needs {count} data bytes, file has {len(blob) - start}")
    if count == 0:
        return torch.empty(shape, dtype=torch.uint8)
    # frombuffer on a bytes object warns that it is not writable; a bytearray is.
    return torch.frombuffer(bytearray(blob[start:]), dtype=torch.uint8).reshape(shape)


def load_mnist(folder, split: str = "t10k") -> tuple[torch.Tensor, torch.Tensor]:
    """Load an MNIST split ("train" or "t10k") from folder, raw or .gz files.

    Returns (x, y): x float32 [n, 784] in [0, 1] (pixel/255), y int64 labels [n].
    """
    def find(kind: str) -> str:
        base = os.path.join(os.fspath(folder), f"{split}-{kind}")
        for candidate in (base, base + ".gz"):
            if os.path.exists(candidate):
                return candidate
        raise FileNotFoundError(f"{base}[.gz]: no such file")

    images, labels = read_idx(find("images-idx3-ubyte")), read_idx(find("labels-idx1-ubyte"))
    if images.dim() != 3 or labels.dim() != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"{folder}: images {list(images.shape)} and labels {list(labels.shape)} "
                         "do not match")
    return images.reshape(images.shape[0], -1).float() / 255, labels.long()


# --------------------------------------------------------------------------- helpers


def _check_task(task, n_out, positive, bad):
    if task not in TASKS:
        raise bad(f"task {task!r} is not one of {', '.join(TASKS)}")
    if task == "binary":
        if n_out != 1:
            raise bad(f"binary task needs 1 output unit, got {n_out}")
        if positive is None or not re.fullmatch(r"-?[0-9]+", positive):
            raise bad(f"binary task needs positive to be an integer label, got {positive!r}")
    elif positive is not None:
        raise bad(f"positive={positive!r} is only meaningful for the binary task, not {task}")


def _check_input(input, bad):
    if input is not None and input not in INPUTS:
        raise bad(f"input {input!r} is not one of {', '.join(INPUTS)}")


def _linears_of(model, activation, bad) -> list[nn.Linear]:
    """The Linear layers of a Sequential (checking what sits between them), or of a list."""
    if not isinstance(model, nn.Module):
        linears = list(model)
        for m in linears:
            if not isinstance(m, nn.Linear):
                raise bad(f"expected nn.Linear layers, got {type(m).__name__}")
        return linears
    linears: list[nn.Linear] = []
    act_seen = False
    act_type = ACTIVATIONS[activation]
    for m in model.children():
        if isinstance(m, nn.Linear):
            if linears and activation != "linear" and not act_seen:
                raise bad(f"no {activation} between Linear layers {len(linears) - 1} and {len(linears)}")
            linears.append(m)
            act_seen = False
        elif isinstance(m, (nn.Identity, nn.Dropout)):
            continue
        elif isinstance(m, act_type) and linears and not act_seen:
            act_seen = True
        else:
            raise bad(f"unexpected {type(m).__name__} after Linear layer {len(linears) - 1}: the mlp "
                      f"layout is Linear ({activation} Linear)* with no output activation")
    if act_seen:
        raise bad(f"the model ends with {activation}: the mlp layout has no output activation")
    return linears


def _f32_from_bytes(raw: memoryview, shape: list[int]) -> torch.Tensor:
    """Little-endian float32 bytes -> a tensor that owns a copy of them."""
    if len(raw) == 0:
        return torch.empty(shape, dtype=torch.float32)
    if sys.byteorder == "little":
        buf = bytearray(raw)  # a writable copy: frombuffer warns on read-only buffers
    else:
        a = array("f")
        a.frombytes(raw)
        a.byteswap()
        buf = bytearray(a.tobytes())
    return torch.frombuffer(buf, dtype=torch.float32).reshape(shape)


def _f32_to_bytes(t: torch.Tensor) -> bytes:
    """A tensor's values as little-endian float32 bytes, row-major."""
    flat = t.detach().to(device="cpu", dtype=torch.float32).contiguous().reshape(-1)
    try:
        return flat.numpy().astype("<f4", copy=False).tobytes()
    except (ImportError, RuntimeError):  # torch built or run without numpy
        a = array("f", flat.tolist())
        if sys.byteorder != "little":
            a.byteswap()
        return a.tobytes()


def _checksum(header: dict, chunks) -> str:
    """ "crc32:xxxxxxxx" of the canonical header (as nlohmann's dump() writes it) and the data."""
    canonical = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    crc = zlib.crc32(canonical.encode("utf-8"))
    for raw in chunks:
        crc = zlib.crc32(raw, crc)
    return "crc32:%08x" % crc


def _prod(dims) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


def _is_uint(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _natural_key(name: str):
    return [(0, int(s), "") if s.isdigit() else (1, 0, s) for s in re.split(r"(\d+)", name)]


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValueError(f"duplicate key {dup!r}")
    return dict(pairs)
