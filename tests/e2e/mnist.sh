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

expect 0 "cnn" -- "$GB" train --data "$D/train.npz" --test "$D/test.npz" \
	--arch conv16k5-relu-pool2-conv32k5-relu-pool2-dense10 --epochs 15 --batch 128 -o "$T/cnn.onnx" \
	--log "$T/cnn.csv" -q
[ "$(wc -l <"$T/cnn.csv")" -eq 16 ] && ok || bad "cnn: 15 epochs in the log"
floor "$T/cnn.csv" 0.97 "mnist conv16k5-relu-pool2-conv32k5-relu-pool2-dense10, 15 epochs"

finish mnist
