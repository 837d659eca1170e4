#!/bin/sh
# End-to-end checks of 'glassbox disguise': on examples/max3.onnx, a
# PyTorch-style MatMul + Add MLP and an MLP trained by 'glassbox train', the
# output passes ONNX's checker, keeps the opset, computes the same function
# (within 1e-5, NumPy on the saved weights, 1000 points of the box and its
# corners), has 4N more units per hidden layer and other weights; the same
# seed gives the same bytes; noise changes outputs; unsupported graphs and
# bad options fail with one-line messages and write nothing.
. tests/e2e/lib/common.sh

# NumPy evaluation of a dense chain (Gemm, MatMul, Add, Relu) from the
# file's own initializers: independent of glassbox's executor.
cat >"$T/chain.py" <<'EOF'
import itertools, numpy as np, onnx
from onnx import numpy_helper

def run(path, x):
    m = onnx.load(path)
    W = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in m.graph.initializer}
    v = {m.graph.input[0].name: x.astype(np.float32).astype(np.float64)}
    get = lambda n: W[n] if n in W else v[n]
    for n in m.graph.node:
        a = {t.name: t for t in n.attribute}
        if n.op_type == 'Gemm':
            B = get(n.input[1])
            if 'transB' in a and a['transB'].i: B = B.T
            y = (a['alpha'].f if 'alpha' in a else 1.0) * (get(n.input[0]) @ B)
            if len(n.input) > 2 and n.input[2]: y = y + (a['beta'].f if 'beta' in a else 1.0) * get(n.input[2])
        elif n.op_type == 'MatMul': y = get(n.input[0]) @ get(n.input[1])
        elif n.op_type == 'Add': y = get(n.input[0]) + get(n.input[1])
        elif n.op_type == 'Relu': y = np.maximum(get(n.input[0]), 0)
        else: raise SystemExit('unexpected op ' + n.op_type)
        v[n.output[0]] = y
    return v[m.graph.output[0].name]

def box(F, lo, hi, n=1000):
    x = np.random.default_rng(1).uniform(lo, hi, (n, F))
    corners = np.array(list(itertools.product([lo, hi], repeat=F)), dtype=np.float64)
    return np.concatenate([x, corners])

def widths(path):
    m = onnx.load(path)
    W = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    out = []
    for n in m.graph.node:
        if n.op_type == 'Gemm':
            B = W[n.input[1]]
            t = [a.i for a in n.attribute if a.name == 'transB']
            out.append(B.shape[0] if t and t[0] else B.shape[1])
        elif n.op_type == 'MatMul':
            out.append(W[n.input[1]].shape[1])
    return out

def check(orig, disg, F, lo, hi, strength):
    onnx.checker.check_model(onnx.load(disg), full_check=True)
    op = lambda p: [o.version for o in onnx.load(p).opset_import if o.domain in ('', 'ai.onnx')]
    assert op(orig) == op(disg), (op(orig), op(disg))
    x = box(F, lo, hi)
    d = np.abs(run(orig, x) - run(disg, x)).max()
    assert d <= 1e-5, 'outputs differ by %g' % d
    w0, w1 = widths(orig), widths(disg)
    assert w1[:-1] == [w + 4 * strength for w in w0[:-1]] and w1[-1] == w0[-1], (w0, w1)
    W0 = sorted(numpy_helper.to_array(i).size for i in onnx.load(orig).graph.initializer)
    W1 = sorted(numpy_helper.to_array(i).size for i in onnx.load(disg).graph.initializer)
    assert W0 != W1 or strength == 0
EOF
check() { # ORIG DISGUISED FEATURES LO HI STRENGTH DESCRIPTION
	py "sys.path.insert(0, '$T'); import chain; chain.check('$1', '$2', $3, $4, $5, $6)" "$7"
}

expect 0 "help disguise" -- "$GB" help disguise
grep -q "usage: glassbox disguise" "$T/out" && ok || bad "help disguise prints the usage"

# ---- max3 ----------------------------------------------------------------------
expect 0 "max3" -- "$GB" disguise examples/max3.onnx --seed 7 -o "$T/a.onnx"
grep -qF "hidden widths 5-3 became 13-11" "$T/out" && ok || bad "summary line: $(cat "$T/out")"
check examples/max3.onnx "$T/a.onnx" 3 -1 1 2 "max3 disguised: checker, opset, function, widths"
expect 0 "max3 strength 5" -- "$GB" disguise examples/max3.onnx --seed 8 --strength 5 --box -2,0.5 -o "$T/s5.onnx"
check examples/max3.onnx "$T/s5.onnx" 3 -2 0.5 5 "max3 strength 5 on [-2, 0.5]"
expect 0 "max3 strength 0" -- "$GB" disguise examples/max3.onnx --seed 9 --strength 0 -o "$T/s0.onnx"
check examples/max3.onnx "$T/s0.onnx" 3 -1 1 0 "max3 strength 0"
py "import onnx; from onnx import numpy_helper as nh
a = [nh.to_array(i) for i in onnx.load('examples/max3.onnx').graph.initializer]
b = [nh.to_array(i) for i in onnx.load('$T/s0.onnx').graph.initializer]
assert [t.shape for t in a] == [t.shape for t in b]
assert all(np.abs(p - q).max() > 1e-3 for p, q in zip(a, b) if p.ndim == 2), 'every weight matrix changes'" "strength 0: same shapes, other values"

# ---- determinism -------------------------------------------------------------------
expect 0 "max3 again" -- "$GB" disguise examples/max3.onnx --seed 7 -o "$T/b.onnx"
cmp -s "$T/a.onnx" "$T/b.onnx" && ok || bad "same seed gives the same bytes"
expect 0 "max3 other seed" -- "$GB" disguise examples/max3.onnx --seed 70 -o "$T/c.onnx"
cmp -s "$T/a.onnx" "$T/c.onnx" && bad "another seed gives other bytes" || ok

# ---- noise ---------------------------------------------------------------------------
expect 0 "noise" -- "$GB" disguise examples/max3.onnx --seed 7 --noise 0.01 -o "$T/n.onnx"
py "sys.path.insert(0, '$T'); import chain, onnx
from onnx import numpy_helper as nh
onnx.checker.check_model(onnx.load('$T/n.onnx'), full_check=True)
a = [nh.to_array(i) for i in onnx.load('$T/a.onnx').graph.initializer]
b = [nh.to_array(i) for i in onnx.load('$T/n.onnx').graph.initializer]
dw = np.concatenate([(q - p).ravel() for p, q in zip(a, b)])
assert 0.008 < dw.std() < 0.012 and abs(dw.mean()) < 0.003, (dw.std(), dw.mean())
x = chain.box(3, -1, 1)
dy = np.abs(chain.run('$T/a.onnx', x) - chain.run('$T/n.onnx', x))
assert 1e-3 < dy.mean() < 0.2, dy.mean()" "noise 0.01: weights move by ~0.01, outputs change"

# ---- a PyTorch-style MatMul + Add MLP (bias first in one Add) --------------------------
py "import onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as TP
r = np.random.default_rng(3)
W = lambda n, *s: nh.from_array(r.uniform(-1, 1, s).astype(np.float32), n)
nodes = [h.make_node('MatMul', ['x', 'w1'], ['m1']), h.make_node('Add', ['m1', 'b1'], ['a1']),
         h.make_node('Relu', ['a1'], ['h1']), h.make_node('MatMul', ['h1', 'w2'], ['m2']),
         h.make_node('Add', ['b2', 'm2'], ['a2']), h.make_node('Relu', ['a2'], ['h2']),
         h.make_node('MatMul', ['h2', 'w3'], ['y'])]
g = h.make_graph(nodes, 'mlp', [h.make_tensor_value_info('x', TP.FLOAT, ['batch', 4])],
                 [h.make_tensor_value_info('y', TP.FLOAT, ['batch', 2])],
                 [W('w1', 4, 10), W('b1', 10), W('w2', 10, 8), W('b2', 8), W('w3', 8, 2)])
m = h.make_model(g, opset_imports=[h.make_opsetid('', 11)])
onnx.checker.check_model(m); onnx.save(m, '$T/mm.onnx')
bad = h.make_graph([h.make_node('MatMul', ['x', 'w1'], ['m1']), h.make_node('Sigmoid', ['m1'], ['s']),
                    h.make_node('MatMul', ['s', 'w2'], ['y'])], 'sig',
                   [h.make_tensor_value_info('x', TP.FLOAT, ['batch', 4])],
                   [h.make_tensor_value_info('y', TP.FLOAT, ['batch', 8])], [W('w1', 4, 10), W('w2', 10, 8)])
onnx.save(h.make_model(bad, opset_imports=[h.make_opsetid('', 13)]), '$T/sig.onnx')
conv = h.make_graph([h.make_node('Conv', ['x', 'k'], ['c'], name='conv1'), h.make_node('Relu', ['c'], ['y'])], 'conv',
                    [h.make_tensor_value_info('x', TP.FLOAT, [1, 1, 5, 5])],
                    [h.make_tensor_value_info('y', TP.FLOAT, [1, 2, 3, 3])], [W('k', 2, 1, 3, 3)])
onnx.save(h.make_model(conv, opset_imports=[h.make_opsetid('', 13)]), '$T/conv.onnx')" "make MatMul, Sigmoid and Conv models"
expect 0 "matmul mlp" -- "$GB" disguise "$T/mm.onnx" --seed 1 --strength 3 --box 0,2 -o "$T/mm_d.onnx"
check "$T/mm.onnx" "$T/mm_d.onnx" 4 0 2 3 "MatMul + Add MLP disguised (opset 11, box [0, 2])"

# ---- an MLP trained by glassbox train -----------------------------------------------------
expect 0 "train max-3" -- "$GB" train --task max-3 --arch 3-12-8-1 --epochs 2 --samples 512 --test-samples 0 \
	-o "$T/t.onnx" -q
expect 0 "trained mlp" -- "$GB" disguise "$T/t.onnx" --seed 2 --strength 4 -o "$T/t_d.onnx"
check "$T/t.onnx" "$T/t_d.onnx" 3 -1 1 4 "trained MLP disguised"

# ---- refusals: exit 3 (unsupported) or 2 (usage), one line, nothing written ---------------
expect 3 "sigmoid" -- "$GB" disguise "$T/sig.onnx" --seed 1 -o "$T/x1.onnx"
err_has "(Sigmoid)" "sigmoid refused"
no_file "$T/x1.onnx" "sigmoid"
expect 3 "conv" -- "$GB" disguise "$T/conv.onnx" --seed 1 -o "$T/x2.onnx"
err_has "node 'conv1' (Conv)" "conv refused"
no_file "$T/x2.onnx" "conv"
expect 3 "missing file" -- "$GB" disguise "$T/none.onnx" --seed 1 -o "$T/x3.onnx"
no_file "$T/x3.onnx" "missing file"
expect 2 "no seed" -- "$GB" disguise examples/max3.onnx -o "$T/x4.onnx"
err_has "--seed" "no seed"
expect 2 "bad box" -- "$GB" disguise examples/max3.onnx --seed 1 --box 1,-1 -o "$T/x4.onnx"
err_has "--box" "bad box"
expect 2 "bad noise" -- "$GB" disguise examples/max3.onnx --seed 1 --noise -1 -o "$T/x4.onnx"
expect 2 "no output" -- "$GB" disguise examples/max3.onnx --seed 1
no_file "$T/x4.onnx" "usage errors"
expect 1 "unwritable output" -- "$GB" disguise examples/max3.onnx --seed 1 -o "$T/nodir/x.onnx"
no_file "$T/nodir/x.onnx" "unwritable output"

finish disguise
