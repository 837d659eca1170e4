#!/usr/bin/python3
"""Writes the fuzz targets' seed corpora: a few small valid inputs each, so
the fuzzers start from real files rather than from nothing.

    fuzz_npy/          .npy files from numpy (every dtype, versions 1-3)
    fuzz_safetensors/  safetensors files built by hand from the specification
    fuzz_onnx/         tiny ONNX models from onnx.helper

Run from the repository root:  /usr/bin/python3 tests/fuzz/corpus/make_corpus.py
"""
import json
import os
import struct

import numpy as np
import onnx
from numpy.lib import format as npformat
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def npy():
    out = os.path.join(HERE, "fuzz_npy")
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "f4_2x3.npy"), np.arange(6, dtype=np.float32).reshape(2, 3))
    np.save(os.path.join(out, "f8_scalar.npy"), np.array(-1.5))
    np.save(os.path.join(out, "i8_0x2.npy"), np.zeros((0, 2), dtype=np.int64))
    np.save(os.path.join(out, "i4_3.npy"), np.array([1, -2, 3], dtype=np.int32))
    np.save(os.path.join(out, "u1_1x1x2.npy"), np.array([[[7, 255]]], dtype=np.uint8))
    np.save(os.path.join(out, "b1_2x2.npy"), np.array([[True, False], [False, True]]))
    for version in [(2, 0), (3, 0)]:
        with open(os.path.join(out, "v%d_f4_2.npy" % version[0]), "wb") as f:
            npformat.write_array(f, np.array([0.5, 2.0], dtype=np.float32), version=version)


def safetensors_file(path, tensors, metadata=None):
    names = {np.float32: "F32", np.float64: "F64", np.int64: "I64", np.int32: "I32", np.uint8: "U8",
             np.bool_: "BOOL"}
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, arr in tensors:
        raw = np.ascontiguousarray(arr).tobytes()
        header[name] = {"dtype": names[arr.dtype.type], "shape": list(arr.shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * ((-len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def safetensors():
    out = os.path.join(HERE, "fuzz_safetensors")
    os.makedirs(out, exist_ok=True)
    safetensors_file(os.path.join(out, "mixed.safetensors"), [
        ("w", np.arange(4, dtype=np.float32).reshape(2, 2)),
        ("idx", np.array([3, -1], dtype=np.int64)),
        ("mask", np.array(True)),
        ("none", np.zeros((0,), dtype=np.float64)),
    ], metadata={"format": "pt"})
    safetensors_file(os.path.join(out, "bytes.safetensors"), [
        ("u", np.array([1, 2, 3], dtype=np.uint8)),
        ("i", np.array([[5]], dtype=np.int32)),
    ])
    safetensors_file(os.path.join(out, "empty.safetensors"), [])


def save_model(path, nodes, inputs, outputs, inits=(), opset=13):
    graph = helper.make_graph(nodes, "seed", inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def onnx_models():
    out = os.path.join(HERE, "fuzz_onnx")
    os.makedirs(out, exist_ok=True)
    f = TensorProto.FLOAT
    save_model(os.path.join(out, "relu.onnx"), [helper.make_node("Relu", ["x"], ["y"], name="r")],
               [helper.make_tensor_value_info("x", f, ["N", 3])], [helper.make_tensor_value_info("y", f, ["N", 3])])
    # Weights as float_data (helper.make_tensor) and as raw_data (numpy_helper).
    w = helper.make_tensor("w", f, [2, 3], [0.5, -1, 2, 0, 1, -0.25])
    b = numpy_helper.from_array(np.array([0.1, -0.2], dtype=np.float32), "b")
    save_model(os.path.join(out, "gemm_relu.onnx"), [
        helper.make_node("Gemm", ["x", "w", "b"], ["h"], name="fc", transB=1),
        helper.make_node("Relu", ["h"], ["y"], name="act"),
    ], [helper.make_tensor_value_info("x", f, ["N", 3])], [helper.make_tensor_value_info("y", f, ["N", 2])], [w, b])
    shape = numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "shape")
    save_model(os.path.join(out, "matmul_reshape.onnx"), [
        helper.make_node("MatMul", ["x", "x"], ["m"], name="mm"),
        helper.make_node("Add", ["m", "x"], ["s"], name="add"),
        helper.make_node("Reshape", ["s", "shape"], ["y"], name="flat"),
    ], [helper.make_tensor_value_info("x", f, [2, 2])], [helper.make_tensor_value_info("y", f, [1, 4])], [shape])
    k = numpy_helper.from_array(np.arange(8, dtype=np.float32).reshape(2, 1, 2, 2) / 8, "k")
    save_model(os.path.join(out, "conv.onnx"), [
        helper.make_node("Conv", ["x", "k"], ["y"], name="conv", pads=[1, 1, 1, 1], strides=[2, 2]),
    ], [helper.make_tensor_value_info("x", f, [1, 1, 4, 4])], [helper.make_tensor_value_info("y", f, [1, 2, 3, 3])],
        [k])


if __name__ == "__main__":
    npy()
    safetensors()
    onnx_models()
