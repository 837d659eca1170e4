#!/bin/sh
# The MNIST accuracy floors of docs/results.md, trained in full with the
# documented commands (seed 1, one OpenBLAS thread, so the bytes and the
# figures are the ones in the docs): the 4x256 ReLU MLP reaches at least
# 95% and the CNN at least 97% on the 2,000 held-out digits. Needs
# 'make data' (make test runs it first).
. tests/e2e/lib/common.sh

D=data/mnist
if [ ! -f "$D/train.npz" ] || [ ! -f "$D/test.npz" ]; then
	bad "no $D/train.npz or $D/test.npz: run 'make data'"
	finish mnist
fi
export OPENBLAS_NUM_THREADS=1

# last_acc CSV: the test accuracy of the log's last epoch
last_acc() { tail -n 1 "$1" | cut -d, -f5; }

# floor CSV FLOOR WHAT: the last epoch's test accuracy is at least FLOOR
floor() {
	acc=$(last_acc "$1")
	if awk -v a="$acc" -v f="$2" 'BEGIN { exit !(a != "" && a + 0 >= f + 0) }'; then
		ok
		echo "$3: test accuracy $acc (floor $2)"
	else
		bad "$3: test accuracy '$acc' below the floor $2"
	fi
}

expect 0 "mlp" -- "$GB" train --data "$D/train.npz" --test "$D/test.npz" \
	--arch 784-256-256-256-256-10 --epochs 20 --batch 128 -o "$T/mlp.onnx" --log "$T/mlp.csv" -q
[ "$(wc -l <"$T/mlp.csv")" -eq 21 ] && ok || bad "mlp: 20 epochs in the log"
floor "$T/mlp.csv" 0.95 "mnist 784-256-256-256-256-10, 20 epochs"

# ---- the MLP decompiled (docs/decompiler.md, MNIST) ---------------------------------------
# (a) without retraining: the smallest program at >= 99% argmax agreement
# with the network on the 2,000 held-out digits; (b) with --retrain: at
# least 10x fewer program parameters than the network's, exactly faithful
# to the retrained network, whose test accuracy is within 0.5 points
py "d = np.load('$D/test.npz'); np.save('$T/test_x.npy', d['x'])" "test digits as .npy"
expect 0 "decompile (a)" -- "$GB" decompile "$T/mlp.onnx" --domain data --data "$T/test_x.npy" --agreement 0.99 \
	-o "$T/a.gbx" --json "$T/a.json"
py "s = json.load(open('$T/a.json'))
f, z = s['fidelity'], s['size']
assert s['faithful'] and f['argmax_agreement'] >= 0.99 and f['samples'] >= 2000, f
assert z['program_params'] < z['network_params'], z
print('mnist (a): agreement %.4f, %d of %d parameters' % (f['argmax_agreement'], z['program_params'], z['network_params']))" \
	"(a) a smaller program at >= 99% agreement"
expect 0 "decompile (b)" -- "$GB" decompile "$T/mlp.onnx" --domain data --retrain "$D/train.npz" --test "$D/test.npz" \
	-o "$T/b.gbx" --json "$T/b.json"
py "s = json.load(open('$T/b.json'))
f, z, r = s['fidelity'], s['size'], s['retrain']
assert s['faithful'] and f['max_abs_error'] <= f['tolerance'] <= 1e-4, f
assert 10 * z['program_params'] <= z['network_params'], z
assert r['test_accuracy_after'] >= r['test_accuracy_before'] - 0.005, r
print('mnist (b): %d program parameters (%.1fx below %d), accuracy %.4f -> %.4f, max error %.2g' % (
    z['program_params'], z['network_params'] / z['program_params'], z['network_params'],
    r['test_accuracy_before'], r['test_accuracy_after'], f['max_abs_error']))" \
	"(b) 10x fewer parameters, faithful, accuracy within 0.5 points"
[ -f "$T/b.onnx" ] && ok || bad "(b) writes the retrained network next to the program"

# ---- a network PyTorch trained and exported (tests/fixtures/make_torch_mnist.py) --------------
# 784-128-64-10 ending in LogSoftmax, 109,386 parameters: (a) as above; (b)
# keeping 11% of its weights (a small network has less to spare than the
# 4x256 MLP's 8%), still more than 10x below the network's parameters
P=tests/fixtures/torch_mnist
expect 0 "torch decompile (a)" -- "$GB" decompile "$P/model.onnx" --domain data --data "$T/test_x.npy" \
	--agreement 0.99 -o "$T/ta.gbx" --json "$T/ta.json"
has "$T/ta.gbx" "log_softmax(" "(a) the program ends in log_softmax"
py "s = json.load(open('$T/ta.json'))
f, z = s['fidelity'], s['size']
assert s['faithful'] and f['argmax_agreement'] >= 0.99 and z['program_params'] < z['network_params'], (f, z)
print('torch mnist (a): agreement %.4f, %d of %d parameters' % (f['argmax_agreement'], z['program_params'], z['network_params']))" \
	"torch (a) a smaller program at >= 99% agreement"
expect 0 "torch decompile (b)" -- "$GB" decompile "$P/model.onnx" --domain data --retrain "$D/train.npz" \
	--test "$D/test.npz" --keep 0.11 -o "$T/tb.gbx" --json "$T/tb.json"
py "s = json.load(open('$T/tb.json'))
f, z, r = s['fidelity'], s['size'], s['retrain']
assert s['faithful'] and f['max_abs_error'] <= f['tolerance'] <= 1e-4, f
assert 10 * z['program_params'] <= z['network_params'], z
assert abs(r['test_accuracy_before'] - json.load(open('$P/info.json'))['test_accuracy']) < 1e-9, r
assert r['test_accuracy_after'] >= r['test_accuracy_before'] - 0.005, r
print('torch mnist (b): %d program parameters (%.1fx below %d), accuracy %.4f -> %.4f, max error %.2g' % (
    z['program_params'], z['network_params'] / z['program_params'], z['network_params'],
    r['test_accuracy_before'], r['test_accuracy_after'], f['max_abs_error']))" \
	"torch (b) 10x fewer parameters, faithful, accuracy within 0.5 points"

expect 0 "cnn" -- "$GB" train --data "$D/train.npz" --test "$D/test.npz" \
	--arch conv16k5-relu-pool2-conv32k5-relu-pool2-dense10 --epochs 15 --batch 128 -o "$T/cnn.onnx" \
	--log "$T/cnn.csv" -q
[ "$(wc -l <"$T/cnn.csv")" -eq 16 ] && ok || bad "cnn: 15 epochs in the log"
floor "$T/cnn.csv" 0.97 "mnist conv16k5-relu-pool2-conv32k5-relu-pool2-dense10, 15 epochs"

finish mnist
