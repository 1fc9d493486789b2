#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_onnx under fuzz/corpus/onnx/: small ONNX models in the forms
load_onnx reads (mlp's export, torch.onnx.export's Gemm chain, MatMul + Add, Flatten) and a few
it refuses. Deterministic; needs python3-onnx (Debian's, 1.12) and numpy."""
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper

FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "onnx")
rng = np.random.default_rng(1)


def tensor(name, shape):
    return numpy_helper.from_array(rng.normal(size=shape).astype(np.float32), name)


def model(nodes, initializers, n_in, n_out, input_type=TensorProto.FLOAT, extra_inputs=(), metadata=None, opset=13):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", input_type, ["batch", n_in]), *extra_inputs],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", n_out])], initializers)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="corpus")
    m.ir_version = 8
    for key, value in (metadata or {}).items():
        m.metadata_props.add(key=key, value=value)
    return m.SerializeToString()


def write(name, data):
    os.makedirs(FOLDER, exist_ok=True)
    with open(os.path.join(FOLDER, name), "wb") as f:
        f.write(data)


def gemm(x, w, b, out, trans_b=1):
    return helper.make_node("Gemm", [x, w, b], [out], transB=trans_b)


# mlp's own form: /255, Gemm, Relu, Gemm, Softmax.
scale = numpy_helper.from_array(np.array(255, dtype=np.float32), "s")
mlp_form = model([helper.make_node("Div", ["x", "s"], ["p"]), gemm("p", "w0", "b0", "z"), helper.make_node("Relu", ["z"], ["a"]),
                  gemm("a", "w1", "b1", "l"), helper.make_node("Softmax", ["l"], ["y"], axis=1)],
                 [scale, tensor("w0", (4, 5)), tensor("b0", (4,)), tensor("w1", (3, 4)), tensor("b1", (3,))], 5, 3,
                 metadata={"format": "mlp", "layers": "5-4-3", "activation": "relu", "task": "multiclass"})
write("valid_mlp_5-4-3", mlp_form)
write("valid_torch_binary", model([gemm("x", "w0", "b0", "z"), helper.make_node("Tanh", ["z"], ["a"]),
                                   gemm("a", "w1", "b1", "l"), helper.make_node("Sigmoid", ["l"], ["y"])],
                                  [tensor("w0", (3, 4)), tensor("b0", (3,)), tensor("w1", (1, 3)), tensor("b1", (1,))], 4, 1,
                                  metadata={"positive": "3"}))
write("valid_matmul_add", model([helper.make_node("Flatten", ["x"], ["f"]), helper.make_node("MatMul", ["f", "w0"], ["m"]),
                                 helper.make_node("Add", ["m", "b0"], ["y"])],
                                [tensor("w0", (4, 2)), tensor("b0", (2,))], 4, 2))
write("valid_one_layer_transb0", model([gemm("x", "w0", "b0", "y", trans_b=0)], [tensor("w0", (3, 2)), tensor("b0", (2,))], 3, 2,
                                       metadata={"activation": "sigmoid"}))
write("bad_truncated", mlp_form[: len(mlp_form) // 2])
write("bad_conv", model([helper.make_node("Conv", ["x", "w0"], ["y"])], [tensor("w0", (2, 3))], 3, 2))
write("bad_cycle", model([gemm("a", "w0", "b0", "z"), helper.make_node("Relu", ["z"], ["a"]), gemm("a", "w1", "b1", "y")],
                         [tensor("w0", (2, 2)), tensor("b0", (2,)), tensor("w1", (2, 2)), tensor("b1", (2,))], 2, 2))
write("bad_missing_initializer", model([gemm("x", "w0", "b_missing", "y")], [tensor("w0", (2, 3))], 3, 2))
lying = tensor("w0", (2, 3))
lying.dims[:] = [2000, 3000]
write("bad_lying_size", model([gemm("x", "w0", "b0", "y")], [lying, tensor("b0", (3,))], 3, 2000))
write("bad_double_input", model([gemm("x", "w0", "b0", "y")], [tensor("w0", (2, 3)), tensor("b0", (2,))], 3, 2,
                                input_type=TensorProto.DOUBLE))
write("bad_second_input", model([gemm("x", "w0", "b0", "y")], [tensor("w0", (2, 3)), tensor("b0", (2,))], 3, 2,
                                extra_inputs=[helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", 3])]))
