#!/bin/sh
# End-to-end checks of 'glassbox train': a model ONNX's checker accepts and
# that computes what PyTorch computes with its weights, the same bytes for
# the same seed, the CSV log and SVG plot, tasks, usage errors (exit 2) and
# bad input (exit 3) with one-line messages and nothing written.
. tests/e2e/lib/common.sh

# Small data sets: 3 features, 3 classes; images 1x6x6, 2 classes.
py "r = np.random.default_rng(0)
x = r.random((96, 3), dtype=np.float32); y = (x[:, 0] * 3).astype(np.int64)
np.savez('$T/good.npz', x=x, y=y)
np.savez('$T/good_i32.npz', x=x, y=y.astype(np.int32))
y2 = y.copy(); y2[5] = 7; np.savez('$T/badlabel.npz', x=x, y=y2)
x2 = x.copy(); x2[3, 1] = np.nan; np.savez('$T/nan.npz', x=x2, y=y)
np.savez('$T/noy.npz', x=x)
np.savez('$T/short.npz', x=x, y=y[:10])
np.savez('$T/other.npz', x=r.random((8, 4), dtype=np.float32), y=np.zeros(8, np.int64))
im = r.random((64, 1, 6, 6), dtype=np.float32); np.savez('$T/img.npz', x=im, y=(im[:, 0, :3].sum((1, 2)) > im[:, 0, 3:].sum((1, 2))).astype(np.int64))
np.save('$T/img_x.npy', im[:5])" "make data"

expect 0 "help train" -- "$GB" help train
grep -q "usage: glassbox train" "$T/out" || bad "help train prints the usage"

# ---- a trained MLP: checker, log, plot, reproducibility ----------------------
expect 0 "mlp" -- "$GB" train --data "$T/good.npz" --test "$T/good.npz" --arch 3-16-3 --epochs 30 --batch 16 \
	--lr 0.01 -o "$T/m.onnx" --log "$T/m.csv" --plot "$T/m.svg"
grep -q "3-16-3, 115 parameters, 30 epochs" "$T/out" || bad "summary line: $(cat "$T/out")"
[ "$(grep -c '^epoch ' "$T/err")" -eq 30 ] && ok || bad "one progress line per epoch off a terminal: $(head -3 "$T/err")"
py "import onnx; m = onnx.load('$T/m.onnx'); onnx.checker.check_model(m, full_check=True)
assert [o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')] == [17]
assert [n.op_type for n in m.graph.node] == ['Gemm', 'Relu', 'Gemm']" "ONNX checker accepts the model"
py "rows = open('$T/m.csv').read().splitlines()
assert rows[0] == 'epoch,train_loss,train_acc,test_loss,test_acc,seconds' and len(rows) == 31
last = [float(v) for v in rows[-1].split(',')]
assert last[0] == 30 and last[2] > 0.8 and last[4] > 0.8, last" "CSV log"
grep -q "^<svg" "$T/m.svg" && grep -q "</svg>" "$T/m.svg" && ok || bad "SVG plot"
expect 0 "mlp again" -- "$GB" train --data "$T/good.npz" --test "$T/good.npz" --arch 3-16-3 --epochs 30 --batch 16 \
	--lr 0.01 -o "$T/m2.onnx" -q
cmp -s "$T/m.onnx" "$T/m2.onnx" && ok || bad "same seed gives the same bytes"
[ -s "$T/err" ] && bad "--quiet prints no progress" || ok
expect 0 "mlp int32 labels" -- "$GB" train --data "$T/good_i32.npz" --arch 3-16-3 --epochs 30 --batch 16 \
	--lr 0.01 -o "$T/m3.onnx" -q
cmp -s "$T/m.onnx" "$T/m3.onnx" && ok || bad "int32 labels train as int64 ones"
expect 0 "other seed" -- "$GB" train --data "$T/good.npz" --arch 3-16-3 --epochs 2 --seed 2 -o "$T/m4.onnx" -q
cmp -s "$T/m.onnx" "$T/m4.onnx" && bad "another seed gives another model" || ok

# ---- a CNN with every regulariser: same as PyTorch with its weights ----------
expect 0 "cnn" -- "$GB" train --data "$T/img.npz" --arch conv4k3-relu-pool2-conv6k3v-relu-dense2 --epochs 3 \
	--l1 1e-4 --l1-act 1e-4 --group-lasso 1e-4 --modular 2:1e-4 --dropout 0.1 -o "$T/c.onnx" -q
grep -q "of weights have |w| <= 1e-3, cross-group share" "$T/out" || bad "structure line: $(cat "$T/out")"
expect 0 "run cnn" -- "$GB" run "$T/c.onnx" --input "$T/img_x.npy" --output "$T/img_y.npy"
py "import onnx, torch
from onnx import numpy_helper
m = onnx.load('$T/c.onnx'); W = {i.name: torch.tensor(numpy_helper.to_array(i)) for i in m.graph.initializer}
assert len(m.graph.input) == 1 and len(m.graph.output) == 1, 'no dropout masks or extra outputs'
x = torch.tensor(np.load('$T/img_x.npy'))
h = torch.nn.functional.conv2d(x, W['conv1.weight'], W['conv1.bias'], padding=1).relu()
h = torch.nn.functional.max_pool2d(h, 2)
h = torch.nn.functional.conv2d(h, W['conv2.weight'], W['conv2.bias']).relu().flatten(1)
y = (h @ W['fc1.weight'].T + W['fc1.bias']).numpy()
assert np.allclose(y, np.load('$T/img_y.npy'), atol=1e-5), abs(y - np.load('$T/img_y.npy')).max()" "CNN matches PyTorch"

# ---- tasks ----------------------------------------------------------------------
expect 0 "task parity-3" -- "$GB" train --task parity-3 --arch 3-16-2 --epochs 300 --batch 8 --lr 0.01 \
	--test-samples 0 -o "$T/p.onnx" --log "$T/p.csv" -q
py "last = open('$T/p.csv').read().splitlines()[-1].split(',')
assert float(last[2]) == 1.0 and last[3] == '' and last[4] == '', last" "parity-3 learnt, no test columns"
expect 0 "task sort-3 (float targets: mse)" -- "$GB" train --task sort-3 --arch 3-32-3 --epochs 2 \
	--samples 256 --test-samples 64 -o "$T/s.onnx" -q
grep -q "test loss" "$T/out" && ok || bad "a task has a test set: $(cat "$T/out")"

# ---- usage errors: exit 2, nothing written ------------------------------------
expect 2 "no data" -- "$GB" train --arch 3-8-3 -o "$T/u.onnx"
expect 2 "data and task" -- "$GB" train --data "$T/good.npz" --task parity-3 --arch 3-8-3 -o "$T/u.onnx"
expect 2 "no arch" -- "$GB" train --data "$T/good.npz" -o "$T/u.onnx"
expect 2 "no output" -- "$GB" train --data "$T/good.npz" --arch 3-8-3
expect 2 "bad lr" -- "$GB" train --data "$T/good.npz" --arch 3-8-3 --lr -1 -o "$T/u.onnx"
expect 2 "bad optim" -- "$GB" train --data "$T/good.npz" --arch 3-8-3 --optim rmsprop -o "$T/u.onnx"
expect 2 "bad modular" -- "$GB" train --data "$T/good.npz" --arch 3-8-3 --modular 2 -o "$T/u.onnx"
expect 2 "modular without hidden pairs" -- "$GB" train --data "$T/good.npz" --arch 3-8-3 --modular 2:0.1 -o "$T/u.onnx"
err_has "two consecutive hidden layers" "modular needs hidden pairs"
expect 2 "unknown option" -- "$GB" train --data "$T/good.npz" --arch 3-8-3 --frobnicate 1 -o "$T/u.onnx"
no_file "$T/u.onnx" "usage errors"

# ---- bad input: exit 3, one line, nothing written -----------------------------
expect 3 "spec that does not parse" -- "$GB" train --data "$T/good.npz" --arch 3-x-3 -o "$T/b.onnx"
err_has "'x' at position 3" "spec error names the token and position"
expect 3 "data that does not fit the spec" -- "$GB" train --data "$T/good.npz" --arch 4-8-3 -o "$T/b.onnx"
err_has "takes 4 input values" "shape mismatch"
expect 3 "conv on flat samples" -- "$GB" train --data "$T/good.npz" --arch conv4k3-dense3 -o "$T/b.onnx"
err_has "needs [C,H,W] samples" "conv on flat samples"
expect 3 "labels out of range" -- "$GB" train --data "$T/badlabel.npz" --arch 3-8-3 -o "$T/b.onnx"
err_has "label 7 of sample 5 is out of range" "label out of range"
expect 3 "test labels out of range" -- "$GB" train --data "$T/good.npz" --test "$T/badlabel.npz" --arch 3-8-3 -o "$T/b.onnx"
err_has "badlabel.npz: label 7" "test label out of range"
expect 3 "NaN" -- "$GB" train --data "$T/nan.npz" --arch 3-8-3 -o "$T/b.onnx"
err_has "NaN at sample 3" "NaN in the data"
expect 3 "no y" -- "$GB" train --data "$T/noy.npz" --arch 3-8-3 -o "$T/b.onnx"
err_has "no 'y'" "missing array"
expect 3 "short y" -- "$GB" train --data "$T/short.npz" --arch 3-8-3 -o "$T/b.onnx"
err_has "y has 10 rows" "row mismatch"
expect 3 "test set of another shape" -- "$GB" train --data "$T/good.npz" --test "$T/other.npz" --arch 3-8-3 -o "$T/b.onnx"
err_has "other.npz: samples have shape [4]" "test shape"
expect 3 "missing file" -- "$GB" train --data "$T/none.npz" --arch 3-8-3 -o "$T/b.onnx"
expect 2 "unknown task" -- "$GB" train --task frobnicate-3 --arch 3-8-3 -o "$T/b.onnx"
no_file "$T/b.onnx" "bad input"
expect 1 "unwritable output" -- "$GB" train --data "$T/good.npz" --arch 3-8-3 --epochs 1 -o "$T/no/such/dir/m.onnx"

finish train
