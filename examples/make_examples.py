#!/usr/bin/python3
"""Writes the bundled example networks (run with Debian's /usr/bin/python3 and
python3-onnx; the outputs are committed, so nothing needs Python at build time).

max3.onnx — a 3-5-3-1 ReLU network (Gemm/Relu layers, as a trained MLP would
be written) that computes max(x0, x1, x2) exactly, using
    max(a, b) = a + relu(b - a),   a = relu(a) - relu(-a).
Layer 1: relu(x0), relu(-x0), relu(x1 - x0), relu(x2), relu(-x2)
         so m = h0 - h1 + h2 = max(x0, x1) and x2 = h3 - h4.
Layer 2: relu(m), relu(-m), relu(x2 - m)
Output:  g0 - g1 + g2 = m + relu(x2 - m) = max(x0, x1, x2).
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def max3():
    w1 = np.array([[1, 0, 0], [-1, 0, 0], [-1, 1, 0], [0, 0, 1], [0, 0, -1]], np.float32)
    m = np.array([1, -1, 1, 0, 0], np.float32)     # m as a function of layer-1 units
    x2 = np.array([0, 0, 0, 1, -1], np.float32)    # x2 likewise
    w2 = np.stack([m, -m, x2 - m]).astype(np.float32)
    w3 = np.array([[1, -1, 1]], np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in [
        (w1, "fc1.weight"), (np.zeros(5, np.float32), "fc1.bias"),
        (w2, "fc2.weight"), (np.zeros(3, np.float32), "fc2.bias"),
        (w3, "fc3.weight"), (np.zeros(1, np.float32), "fc3.bias")]]
    nodes = [
        helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["fc1"], name="fc1", transB=1),
        helper.make_node("Relu", ["fc1"], ["hidden1"], name="relu1"),
        helper.make_node("Gemm", ["hidden1", "fc2.weight", "fc2.bias"], ["fc2"], name="fc2", transB=1),
        helper.make_node("Relu", ["fc2"], ["hidden2"], name="relu2"),
        helper.make_node("Gemm", ["hidden2", "fc3.weight", "fc3.bias"], ["y"], name="fc3", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "max3",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])], inits)
    model = helper.make_model(graph, producer_name="glassbox examples",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, "max3.onnx"))
    x = np.array([[0.1, 0.7, -0.3], [2.0, -1.0, 0.5], [-0.5, -0.25, -0.75], [0.0, 0.0, 3.0]], np.float32)
    np.save(os.path.join(HERE, "max3_input.npy"), x)
    np.save(os.path.join(HERE, "max3_cotangent.npy"), np.ones((len(x), 1), np.float32))


if __name__ == "__main__":
    max3()
