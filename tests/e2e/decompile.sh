#!/bin/sh
# End-to-end checks of 'glassbox decompile': max3 (plain and disguised) comes
# back as max(x[0], x[1], x[2]); the programs written run with 'glassbox run'
# and agree with the network; the JSON summary has its keys; compiled
# parity, adder, sort and a dense convolution come back as xor/majority
# formulas, sort(x) and conv2d (with unit figures), and compile back; a
# trained MLP and a PyTorch CNN (side-car weights, --domain data) decompile
# faithfully; --retrain writes a smaller network the program explains; a
# program outside the tolerance is refused with exit 1 and not written;
# bad input gets one-line errors, the documented exit codes, no output.
. tests/e2e/lib/common.sh

# The program and the network on the same inputs agree within TOL.
agree() { # MODEL PROGRAM INPUT TOL DESCRIPTION
	"$GB" run "$1" --input "$3" --output "$T/net.npy" >/dev/null 2>"$T/e1" || { bad "$5: run $1: $(cat "$T/e1")"; return; }
	"$GB" run "$2" --input "$3" --output "$T/prog.npy" >/dev/null 2>"$T/e2" || { bad "$5: run $2: $(cat "$T/e2")"; return; }
	py "a = np.load('$T/net.npy'); b = np.load('$T/prog.npy'); assert a.shape == b.shape, (a.shape, b.shape)
d = np.abs(a - b).max(); assert d <= $4, d" "$5"
}

expect 0 "help decompile" -- "$GB" help decompile
has "$T/out" "usage: glassbox decompile" "help"

# ---- max3: to standard output, then to files ------------------------------------------------
expect 0 "max3" -- "$GB" decompile examples/max3.onnx --domain box:-1,1
has "$T/out" "y[0] = max(x[0], x[1], x[2])" "max3 formula"
head -1 "$T/out" | grep -q "^# decompiled from max3.onnx" && ok || bad "header: $(head -1 "$T/out")"
has "$T/out" "# faithful on box:-1,1" "fidelity stated"
expect 0 "max3 to files" -- "$GB" decompile examples/max3.onnx --domain box:-1,1 -o "$T/max3.gbx" --json "$T/max3.json"
agree examples/max3.onnx "$T/max3.gbx" examples/max3_input.npy 1e-6 "max3 program runs like the network"
no_file "$T/max3.safetensors" "formulas need no side-car"
py "s = json.load(open('$T/max3.json'))
assert s['faithful'] is True and s['domain'] == 'box:-1,1' and s['model'] == 'examples/max3.onnx'
f = s['fidelity']; assert f['method'] == 'certified' and f['samples'] >= 10000 and f['max_abs_error'] <= 1e-4
assert f['tolerance'] == 1e-4 and 0 <= f['mean_abs_error'] <= f['max_abs_error'] and f['argmax_agreement'] == 1
z = s['size']; assert z == {'network_params': 42, 'network_units': 8, 'program_params': 0, 'program_ops': 1}, z
assert s['primitives'] == {'max': 1}, s['primitives']
assert set(s['structure']) == {'modules', 'conv', 'maps'}" "max3 summary JSON"

# ---- disguised and trained networks -------------------------------------------------------------
for seed in 1 2; do
	"$GB" disguise examples/max3.onnx --seed $seed --strength 4 -o "$T/d$seed.onnx" >/dev/null
	expect 0 "disguised max3 $seed" -- "$GB" decompile "$T/d$seed.onnx" --domain box:-1,1
	has "$T/out" "y[0] = max(x[0], x[1], x[2])" "disguised max3 (seed $seed)"
done
expect 0 "train max-3" -- "$GB" train --task max-3 --arch 3-12-8-1 --epochs 2 --samples 512 --test-samples 0 \
	-o "$T/t.onnx" -q
expect 0 "trained mlp" -- "$GB" decompile "$T/t.onnx" --domain box:-1,1 -o "$T/t.gbx" --tolerance 1e-4
py "np.save('$T/box.npy', np.random.default_rng(0).uniform(-1, 1, (500, 3)).astype(np.float32))" "box points"
agree "$T/t.onnx" "$T/t.gbx" "$T/box.npy" 1e-4 "trained MLP program"

# ---- compiled programs come back: Boolean formulas, a sort, a convolution -------------------------
expect 0 "compile parity" -- "$GB" compile examples/parity.gbx -o "$T/parity.onnx"
expect 0 "parity" -- "$GB" decompile "$T/parity.onnx" --domain bool -o "$T/parity.gbx" --json "$T/parity.json"
has "$T/parity.gbx" "odd = xor(bits[0], bits[1], bits[2], bits[3], bits[4], bits[5], bits[6], bits[7])" "parity as xor"
py "s = json.load(open('$T/parity.json')); f = s['fidelity']
assert f['method'] == 'exhaustive' and f['samples'] == 256 and f['max_abs_error'] == 0, f
assert s['size']['program_ops'] == 1 and s['primitives'] == {'xor': 1}, s" "parity summary: exhaustive, 1 op"
expect 0 "compile adder2" -- "$GB" compile examples/adder2.gbx -o "$T/adder2.onnx"
expect 0 "adder2" -- "$GB" decompile "$T/adder2.onnx" --domain bool
has "$T/out" "total[2] = majority(a[1], b[1], carry)" "adder's carry chain"
expect 0 "compile sort3" -- "$GB" compile examples/sort3.gbx -o "$T/sort3.onnx"
expect 0 "sort3" -- "$GB" decompile "$T/sort3.onnx" --domain box:-1,1
has "$T/out" "y = sort(x)" "sort3 recognised"
expect 0 "compile convdense" -- "$GB" compile zoo/planted/convdense.gbx -o "$T/conv.onnx"
expect 0 "convdense" -- "$GB" decompile "$T/conv.onnx" --domain box:0,1 -o "$T/conv.gbx" --json "$T/conv.json"
has "$T/conv.gbx" "relu(conv2d(" "dense layer read as a convolution"
py "c = json.load(open('$T/conv.json'))['structure']['conv']
assert len(c) == 1 and c[0]['filters'] == 2 and c[0]['kernel'] == [3, 3] and c[0]['input'] == [1, 6, 6], c" "conv summary"
py "np.save('$T/img.npy', np.random.default_rng(1).uniform(0, 1, (64, 1, 6, 6)).astype(np.float32))" "image points"
agree "$T/conv.onnx" "$T/conv.gbx" "$T/img.npy" 1e-5 "convolution program"
mkdir -p "$T/units"
expect 0 "figures" -- "$GB" decompile "$T/conv.onnx" --domain box:0,1 -o "$T/conv2.gbx" --figures "$T/units"
[ "$(ls "$T/units" | grep -c '^unit[0-9][0-9][0-9]\.png$')" -eq 32 ] && ok || bad "one PNG per first-layer unit: $(ls "$T/units" | head)"
has "$T/conv2.gbx" "hidden[0]: units/unit000.png" "figures named beside the layer, relative to the program"
py "d = open('$T/units/unit000.png', 'rb').read(); assert d[:8] == b'\\x89PNG\\r\\n\\x1a\\n' and d[16:24] == bytes([0, 0, 0, 6, 0, 0, 0, 6]), d[:24]" "a 6x6 PNG"
expect 0 "round trip" -- "$GB" compile "$T/conv.gbx" -o "$T/conv_again.onnx"
agree "$T/conv.onnx" "$T/conv_again.onnx" "$T/img.npy" 1e-5 "program compiled back agrees with the network"

# ---- a PyTorch CNN on its data: side-car weights ------------------------------------------------
CNN=tests/fixtures/torch/cnn_folded
expect 0 "cnn" -- "$GB" decompile $CNN/model.onnx --domain data --data $CNN/x.npy -o "$T/cnn.gbx" --json "$T/cnn.json"
[ -s "$T/cnn.safetensors" ] && ok || bad "cnn side-car written next to the program"
has "$T/cnn.gbx" 'weights "cnn.safetensors"' "cnn weights line"
agree $CNN/model.onnx "$T/cnn.gbx" $CNN/x.npy 1e-4 "cnn program"
py "s = json.load(open('$T/cnn.json')); assert s['faithful'] and s['form'] == 'layers' and s['domain'] == 'data'
assert s['size']['program_params'] > 0 and s['fidelity']['samples'] == np.load('$CNN/x.npy').shape[0]" "cnn summary"
expect 2 "side-car to stdout" -- "$GB" decompile $CNN/model.onnx --domain data --data $CNN/x.npy
err_has "-o PROGRAM.gbx" "a side-car needs -o"

# ---- --retrain: a pruned, fine-tuned classifier and its exact program ------------------------------
py "r = np.random.default_rng(2)
def blobs(n):
    y = r.integers(0, 3, n); c = np.eye(3, 8) * 2.0
    return (c[y] + r.normal(0, 0.7, (n, 8))).astype(np.float32), y.astype(np.int64)
for name, n in (('train', 1200), ('test', 400)):
    x, y = blobs(n); np.savez('$T/' + name + '.npz', x=x, y=y)" "classification data"
expect 0 "train classifier" -- "$GB" train --data "$T/train.npz" --arch 8-32-32-3 --epochs 5 -o "$T/clf.onnx" -q
expect 0 "retrain" -- "$GB" decompile "$T/clf.onnx" --domain data --retrain "$T/train.npz" --test "$T/test.npz" \
	--keep 0.2 --rounds 2 --epochs 2 -o "$T/small.gbx" --json "$T/clf.json"
[ -s "$T/small.onnx" ] && ok || bad "the retrained network is written next to the program"
has "$T/small.gbx" "# retrained:" "the program says it explains the retrained network"
py "s = json.load(open('$T/clf.json')); t = s['retrain']
assert t['network'].endswith('small.onnx') and t['weights_after'] <= 0.2 * t['weights_before'] + 3, t
assert 0.8 <= t['test_accuracy_after'] <= 1 and abs(t['test_accuracy_after'] - t['test_accuracy_before']) < 0.1, t
assert s['faithful'] and s['size']['program_params'] < s['size']['network_params'] / 3, s['size']" "retrain summary"
py "np.save('$T/clfx.npy', np.load('$T/test.npz')['x'])" "test points"
agree "$T/small.onnx" "$T/small.gbx" "$T/clfx.npy" 1e-4 "the program computes the retrained network"
expect 2 "retrain without --test" -- "$GB" decompile "$T/clf.onnx" --domain data --retrain "$T/train.npz" -o "$T/x.gbx"
expect 2 "retrain over the input" -- "$GB" decompile "$T/clf.onnx" --domain data --retrain "$T/train.npz" \
	--test "$T/test.npz" -o "$T/clf.gbx"
err_has "over the network given" "the retrained network never replaces the one given"

# ---- not faithful: exit 1, nothing written but the summary ----------------------------------------
expect 1 "tolerance 0" -- "$GB" decompile examples/max3.onnx --domain box:-100,100 --tolerance 0 -o "$T/nf.gbx" --json "$T/nf.json"
err_has "NOT FAITHFUL" "unfaithful program refused"
no_file "$T/nf.gbx" "unfaithful program"
py "s = json.load(open('$T/nf.json')); assert s['faithful'] is False and s['fidelity']['max_abs_error'] > 0" "unfaithful summary"

# ---- bad input -----------------------------------------------------------------------------
py "import onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as TP
r = np.random.default_rng(3)
W = lambda n, *s: nh.from_array(r.uniform(-1, 1, s).astype(np.float32), n)
g = h.make_graph([h.make_node('MatMul', ['x', 'w1'], ['m1']), h.make_node('Sigmoid', ['m1'], ['s'], name='squash'),
                  h.make_node('MatMul', ['s', 'w2'], ['y'])], 'sig',
                 [h.make_tensor_value_info('x', TP.FLOAT, ['batch', 4])],
                 [h.make_tensor_value_info('y', TP.FLOAT, ['batch', 8])], [W('w1', 4, 10), W('w2', 10, 8)])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid('', 13)]), '$T/sig.onnx')
np.save('$T/wrong.npy', np.zeros((4, 5), np.float32))" "make bad inputs"
# a classifier that ends in Softmax: the program ends in softmax too; one
# with Softmax in the middle is refused
py "import onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as TP
r = np.random.default_rng(5)
W = lambda n, *s: nh.from_array(r.uniform(-1, 1, s).astype(np.float32), n)
io = lambda: ([h.make_tensor_value_info('x', TP.FLOAT, ['N', 4])], [h.make_tensor_value_info('p', TP.FLOAT, ['N', 3])])
nodes = [h.make_node('MatMul', ['x', 'w1'], ['m1']), h.make_node('Relu', ['m1'], ['h']),
         h.make_node('MatMul', ['h', 'w2'], ['z']), h.make_node('Softmax', ['z'], ['p'], axis=-1)]
onnx.save(h.make_model(h.make_graph(nodes, 'clf', *io(), [W('w1', 4, 6), W('w2', 6, 3)]),
                       opset_imports=[h.make_opsetid('', 13)]), '$T/softmax.onnx')
mid = [h.make_node('MatMul', ['x', 'w1'], ['m1']), h.make_node('Softmax', ['m1'], ['s'], name='early'),
       h.make_node('MatMul', ['s', 'w2'], ['p'])]
onnx.save(h.make_model(h.make_graph(mid, 'mid', *io(), [W('w1', 4, 6), W('w2', 6, 3)]),
                       opset_imports=[h.make_opsetid('', 13)]), '$T/softmax_mid.onnx')
np.save('$T/x4.npy', r.uniform(-1, 1, (200, 4)).astype(np.float32))" "make softmax models"
# PyTorch's default export has a fixed batch of 1 and made-up names
py "import onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as TP
r = np.random.default_rng(6)
W = lambda n, *s: nh.from_array(r.uniform(-1, 1, s).astype(np.float32), n)
g = h.make_graph([h.make_node('Gemm', ['onnx::Gemm_0', 'w1', 'b1'], ['h0'], transB=1), h.make_node('Relu', ['h0'], ['h1']),
                  h.make_node('Gemm', ['h1', 'w2', 'b2'], ['7'], transB=1)], 'fixed',
                 [h.make_tensor_value_info('onnx::Gemm_0', TP.FLOAT, [1, 4])], [h.make_tensor_value_info('7', TP.FLOAT, [1, 2])],
                 [W('w1', 5, 4), W('b1', 5), W('w2', 2, 5), W('b2', 2)])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid('', 13)]), '$T/fixed.onnx')" "make a fixed-batch model"
expect 0 "fixed batch" -- "$GB" decompile "$T/fixed.onnx" --domain box:-1,1 -o "$T/fixed.gbx"
has "$T/fixed.gbx" "input x: f32[4]" "made-up names give way to x and y"
expect 0 "softmax output" -- "$GB" decompile "$T/softmax.onnx" --domain box:-1,1 -o "$T/softmax.gbx"
has "$T/softmax.gbx" "softmax(" "the program ends in softmax"
agree "$T/softmax.onnx" "$T/softmax.gbx" "$T/x4.npy" 1e-4 "softmax program"
# not piecewise linear in the middle: written as the network's own layers
expect 0 "softmax in the middle" -- "$GB" decompile "$T/softmax_mid.onnx" --domain box:-1,1 -o "$T/smid.gbx"
has "$T/smid.gbx" "s = softmax(m1)" "softmax in the middle stays a softmax"
agree "$T/softmax_mid.onnx" "$T/smid.gbx" "$T/x4.npy" 1e-5 "softmax-in-the-middle program"
expect 0 "sigmoid in the middle" -- "$GB" decompile "$T/sig.onnx" --domain box:-1,1 -o "$T/sigmid.gbx"
has "$T/sigmid.gbx" "s = sigmoid(m1)" "sigmoid stays a sigmoid"
expect 3 "data of the wrong shape" -- "$GB" decompile examples/max3.onnx --domain data --data "$T/wrong.npy" -o "$T/x.gbx"
err_has "wrong.npy" "wrong data names the file"
expect 3 "missing model" -- "$GB" decompile "$T/none.onnx" --domain bool -o "$T/x.gbx"
expect 2 "bad domain" -- "$GB" decompile examples/max3.onnx --domain cube -o "$T/x.gbx"
err_has "box:LO,HI" "bad domain"
expect 2 "data without --data" -- "$GB" decompile examples/max3.onnx --domain data -o "$T/x.gbx"
expect 2 "no domain" -- "$GB" decompile examples/max3.onnx -o "$T/x.gbx"
expect 2 "unknown flag" -- "$GB" decompile examples/max3.onnx --domain bool --retrian -o "$T/x.gbx"
expect 2 "bad tolerance" -- "$GB" decompile examples/max3.onnx --domain bool --tolerance -1 -o "$T/x.gbx"
no_file "$T/x.gbx" "bad input writes nothing"

# ---- a classifier that ends in LogSoftmax (PyTorch's MLP fixture) ---------------------------------
MLP=tests/fixtures/torch/mlp
expect 0 "log_softmax output" -- "$GB" decompile $MLP/model.onnx --domain data --data $MLP/x.npy -o "$T/logsm.gbx" \
	--json "$T/logsm.json"
has "$T/logsm.gbx" "log_softmax(" "the program ends in log_softmax"
py "s = json.load(open('$T/logsm.json')); assert s['faithful'] is True and s['primitives']['log_softmax'] == 1, s" \
	"log_softmax summary"
expect 0 "compile the log_softmax program" -- "$GB" compile "$T/logsm.gbx" -o "$T/logsm_back.onnx"
expect 0 "run the compiled program" -- "$GB" run "$T/logsm_back.onnx" --input $MLP/x.npy --output "$T/logsm_y.npy"
npy_check "np.abs(np.load('$T/logsm_y.npy') - np.load('$MLP/y.npy')).max() <= 1e-4" "compiled program against PyTorch's y"
py "import onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as TP
r = np.random.default_rng(7)
W = lambda n, *s: nh.from_array(r.uniform(-1, 1, s).astype(np.float32), n)
mid = [h.make_node('MatMul', ['x', 'w1'], ['m1']), h.make_node('LogSoftmax', ['m1'], ['s'], name='early_log'),
       h.make_node('MatMul', ['s', 'w2'], ['p'])]
onnx.save(h.make_model(h.make_graph(mid, 'mid', [h.make_tensor_value_info('x', TP.FLOAT, ['N', 4])],
                                    [h.make_tensor_value_info('p', TP.FLOAT, ['N', 3])], [W('w1', 4, 6), W('w2', 6, 3)]),
                       opset_imports=[h.make_opsetid('', 13)]), '$T/logsm_mid.onnx')" "make a LogSoftmax-in-the-middle model"
expect 0 "log_softmax in the middle" -- "$GB" decompile "$T/logsm_mid.onnx" --domain box:-1,1 -o "$T/lmid.gbx"
has "$T/lmid.gbx" "s = log_softmax(m1)" "log_softmax in the middle stays as it is"

# ---- modules: a def per independent part, named as in the summary ----------------------------
expect 0 "compile twomod" -- "$GB" compile zoo/planted/twomod.gbx -o "$T/twomod.onnx"
expect 0 "twomod" -- "$GB" decompile "$T/twomod.onnx" --domain box:-1,1 -o "$T/twomod.gbx" --json "$T/twomod.json"
has "$T/twomod.gbx" "def module1(v: f32[3]) -> f32:" "a def per module"
has "$T/twomod.gbx" "y[1] = module2(x[3:6])" "each module called on its own inputs"
py "m = json.load(open('$T/twomod.json'))['structure']['modules']
assert [(d['name'], d['inputs'], d['outputs'], d['def']) for d in m] == [
    ('module1', [0, 1, 2], [0], True), ('module2', [3, 4, 5], [1], True)], m" "the summary names the defs"
py "np.save('$T/box6.npy', np.random.default_rng(4).uniform(-1, 1, (300, 6)).astype(np.float32))" "box points"
agree "$T/twomod.onnx" "$T/twomod.gbx" "$T/box6.npy" 1e-5 "the program with defs runs like the network"

# ---- what cannot be lifted stays the network's own layers ----------------------------------------
# a sigmoid/tanh MLP (not piecewise linear) and a CNN whose ReLU form, written
# out dense, would be far larger than the network: both written node by node
# (dense, conv2d, maxpool2d, activations), exact weights, checked like any program
py "import onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as TP
r = np.random.default_rng(3)
W = lambda n, *s: nh.from_array(r.uniform(-1, 1, s).astype(np.float32), n)
f = lambda name, ins, out, op, **a: h.make_node(op, ins, [out], name=name, **a)
sig = [f('fc1', ['x', 'w1', 'b1'], 'a1', 'Gemm', transB=1), f('squash', ['a1'], 's1', 'Sigmoid'),
       f('fc2', ['s1', 'w2', 'b2'], 'a2', 'Gemm', transB=1), f('bound', ['a2'], 'y', 'Tanh')]
onnx.save(h.make_model(h.make_graph(sig, 'sig', [h.make_tensor_value_info('x', TP.FLOAT, ['N', 4])],
    [h.make_tensor_value_info('y', TP.FLOAT, ['N', 2])], [W('w1', 5, 4), W('b1', 5), W('w2', 2, 5), W('b2', 2)]),
    opset_imports=[h.make_opsetid('', 13)]), '$T/sig.onnx')
cnn = [f('conv1', ['img', 'k1', 'c1'], 'h1', 'Conv', kernel_shape=[3, 3], pads=[1, 1, 1, 1]), f('relu1', ['h1'], 'r1', 'Relu'),
       f('pool1', ['r1'], 'q1', 'MaxPool', kernel_shape=[2, 2], strides=[2, 2]),
       f('conv2', ['q1', 'k2', 'c2'], 'h2', 'Conv', kernel_shape=[3, 3]), f('relu2', ['h2'], 'r2', 'Relu'),
       f('flat', ['r2'], 'v', 'Flatten'), f('fc', ['v', 'wf', 'bf'], 'score', 'Gemm', transB=1)]
onnx.save(h.make_model(h.make_graph(cnn, 'cnn', [h.make_tensor_value_info('img', TP.FLOAT, ['N', 1, 16, 16])],
    [h.make_tensor_value_info('score', TP.FLOAT, ['N', 3])],
    [W('k1', 4, 1, 3, 3), W('c1', 4), W('k2', 6, 4, 3, 3), W('c2', 6), W('wf', 3, 216), W('bf', 3)]),
    opset_imports=[h.make_opsetid('', 13)]), '$T/cnn.onnx')
np.save('$T/img.npy', r.uniform(0, 1, (200, 1, 16, 16)).astype(np.float32))
np.save('$T/box4.npy', r.uniform(-1, 1, (200, 4)).astype(np.float32))" "make a sigmoid MLP and a CNN"
expect 0 "sigmoid network" -- "$GB" decompile "$T/sig.onnx" --domain box:-1,1 -o "$T/sig.gbx" --json "$T/sig.json"
has "$T/sig.gbx" "s1 = sigmoid(a1)" "the sigmoid stays a sigmoid"
has "$T/sig.gbx" "output y = tanh(a2)" "the output is named and computed as the network's"
has "$T/sig.gbx" "written as its own layers: node 'squash' (Sigmoid)" "the header says why"
py "s = json.load(open('$T/sig.json')); assert s['faithful'] and s['form'] == 'network', s
assert s['size']['program_params'] == s['size']['network_params'] == 37, s['size']" "sigmoid summary"
agree "$T/sig.onnx" "$T/sig.gbx" "$T/box4.npy" 1e-5 "the sigmoid program runs like the network"
expect 0 "cnn" -- "$GB" decompile "$T/cnn.onnx" --domain box:0,1 -o "$T/cnn.gbx" --json "$T/cnn.json"
has "$T/cnn.gbx" "h1 = conv2d(img, conv1_kernel, bias=conv1_bias, stride=[1, 1], padding=[1, 1])" "conv1 as conv2d"
has "$T/cnn.gbx" "q1 = maxpool2d(r1, [2, 2], stride=[2, 2])" "the pool as maxpool2d"
has "$T/cnn.gbx" "output score = dense(v, fc_weight, fc_bias)" "the readout as dense"
py "s = json.load(open('$T/cnn.json')); assert s['faithful'] and s['form'] == 'network', s
assert s['primitives']['conv2d'] == 2 and s['size']['program_params'] == s['size']['network_params'], s" "cnn summary"
expect 0 "compile the cnn program" -- "$GB" compile "$T/cnn.gbx" -o "$T/cnn_back.onnx"
agree "$T/cnn.onnx" "$T/cnn_back.onnx" "$T/img.npy" 1e-5 "the cnn program compiles back to the network"
py "import onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as TP
n = [h.make_node('Gemm', ['x', 'w', 'b'], ['a'], transB=1, name='fc'), h.make_node('Exp', ['a'], ['y'], name='grow')]
onnx.save(h.make_model(h.make_graph(n, 'g', [h.make_tensor_value_info('x', TP.FLOAT, ['N', 2])],
    [h.make_tensor_value_info('y', TP.FLOAT, ['N', 2])],
    [nh.from_array(np.eye(2, dtype=np.float32), 'w'), nh.from_array(np.zeros(2, np.float32), 'b')]),
    opset_imports=[h.make_opsetid('', 13)]), '$T/exp.onnx')" "make a network with an op neither lifted nor written as a layer"
expect 3 "exp" -- "$GB" decompile "$T/exp.onnx" --domain box:-1,1 -o "$T/exp.gbx"
err_has "node 'grow' (Exp): Exp is not piecewise linear" "exp refused, naming the node"
err_has "nor can it be written as its own layers: node 'grow' (Exp)" "exp refused as a layer too"
no_file "$T/exp.gbx" "a refused network writes nothing"

# ---- certified bounds on a box (certify.c) ------------------------------------------------------
expect 0 "max3 certified" -- "$GB" decompile examples/max3.onnx --domain box:-1,1 --json "$T/cert.json"
has "$T/out" "everywhere on the box in exact arithmetic (certified by bound propagation over" "certified header"
py "f = json.load(open('$T/cert.json'))['fidelity']
assert f['method'] == 'certified' and f['certified'] is True and f['certified_bound'] <= 1e-5, f
assert f['certified_boxes'] >= 1 and 0 < f['certified_rounding'] < 1e-4, f" "max3 certified summary"
"$GB" disguise examples/max3.onnx --seed 3 --strength 4 -o "$T/d3.onnx" >/dev/null
expect 0 "disguised max3 certified" -- "$GB" decompile "$T/d3.onnx" --domain box:-1,1 --json "$T/cert_d.json"
py "f = json.load(open('$T/cert_d.json'))['fidelity']
assert f['method'] == 'certified' and f['certified_bound'] <= 1e-5, f" "disguised max3 certified summary"
py "f = json.load(open('$T/parity.json'))['fidelity']; assert 'certified' not in f, f" "Boolean domains are not tried"
py "f = json.load(open('$T/conv.json'))['fidelity']
assert f['method'] == 'sampled' and f['certified'] is False and f['certified_reason'] == 'too_large', f" "36 inputs: not tried"
# max3 plus a pyramid 0.01 high and 2e-6 wide around (0.3, -0.2): the points
# miss it, compression drops it, the proof finds it
py "import onnx
from onnx import helper as h, numpy_helper as nh, TensorProto as TP
k, c0, c1 = 5000.0, 0.3, -0.2
W1 = np.array([[1, 0, 0], [-1, 0, 0], [-1, 1, 0], [0, 0, 1], [0, 0, -1], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]], np.float32)
b1 = np.array([0, 0, 0, 0, 0, -c0, c0, -c1, c1], np.float32)
W2 = np.zeros((4, 9), np.float32); W2[:3, :5] = [[1, -1, 1, 0, 0], [-1, 1, -1, 0, 0], [-1, 1, -1, 1, -1]]; W2[3, 5:] = -k
b2 = np.array([0, 0, 0, 0.01], np.float32)
W3 = np.array([[1, -1, 1, 1]], np.float32); b3 = np.zeros(1, np.float32)
inits = [nh.from_array(a, n) for a, n in [(W1, 'w1'), (b1, 'b1'), (W2, 'w2'), (b2, 'b2'), (W3, 'w3'), (b3, 'b3')]]
nodes = [h.make_node('Gemm', ['x', 'w1', 'b1'], ['g1'], transB=1), h.make_node('Relu', ['g1'], ['h1']),
         h.make_node('Gemm', ['h1', 'w2', 'b2'], ['g2'], transB=1), h.make_node('Relu', ['g2'], ['h2']),
         h.make_node('Gemm', ['h2', 'w3', 'b3'], ['y'], transB=1)]
g = h.make_graph(nodes, 'bump', [h.make_tensor_value_info('x', TP.FLOAT, ['N', 3])],
                 [h.make_tensor_value_info('y', TP.FLOAT, ['N', 1])], inits)
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid('', 13)]), '$T/bump.onnx')" "make a network with a hidden bump"
expect 1 "hidden bump" -- "$GB" decompile "$T/bump.onnx" --domain box:-1,1 -o "$T/bump.gbx" --json "$T/bump.json"
err_has "NOT FAITHFUL" "the bump refutes the program"
no_file "$T/bump.gbx" "refuted program"
py "s = json.load(open('$T/bump.json')); f = s['fidelity']; c = f['counterexample']
assert s['faithful'] is False and f['certified'] is False and f['certified_reason'] == 'counterexample', f
assert c['error'] > 1e-4 and abs(c['x'][0] - 0.3) < 3e-6 and abs(c['x'][1] + 0.2) < 3e-6 and f['max_abs_error'] >= c['error'], f" "counterexample in the summary"

finish decompile
