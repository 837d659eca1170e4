#!/bin/sh
# End-to-end checks of the glassbox tool's contract: commands, outputs,
# exit codes (0 ok, 1 failure, 2 usage, 3 bad input file), one-line errors
# naming the file, and no partial output files on failure.
# Numeric checks use /usr/bin/python3 + numpy (fixtures and checks only).
. tests/e2e/lib/common.sh
ERR_LINES=2

no_temp() { if ls "$T" | grep -q '\.tmp\.'; then bad "$1: temporary file left behind"; else ok; fi; }

M=examples/max3.onnx
X=examples/max3_input.npy

# ---- help and usage -------------------------------------------------------
expect 0 "help" -- "$GB" help
expect 0 "--help" -- "$GB" --help
for c in info run grad show ops help; do
	expect 0 "help $c" -- "$GB" help "$c"
	expect 0 "$c --help" -- "$GB" "$c" --help
	grep -q "usage: glassbox $c" "$T/out" || bad "$c --help prints its usage"
done
expect 2 "no command" -- "$GB"
expect 2 "unknown command" -- "$GB" frobnicate
expect 2 "run without args" -- "$GB" run
expect 2 "run unknown option" -- "$GB" run $M --input $X --output "$T/y.npy" --bogus
expect 2 "bad unit list" -- "$GB" run $M --input $X --output "$T/y.npy" --ablate relu1:3-1
expect 2 "scale needs a number" -- "$GB" run $M --input $X --output "$T/y.npy" --scale relu1:0=abc
expect 2 "unknown node" -- "$GB" run $M --input $X --output "$T/y.npy" --ablate nosuch:0
err_has "nosuch" "unknown node named"
expect 2 "unit out of range" -- "$GB" run $M --input $X --output "$T/y.npy" --ablate relu1:99
no_file "$T/y.npy" "usage failure"

# ---- info -----------------------------------------------------------------
expect 0 "info" -- "$GB" info $M
grep -q "42 parameters" "$T/out" && ok || bad "info prints the parameter count: $(cat "$T/out")"
grep -q "3 Gemm, 2 Relu" "$T/out" && ok || bad "info counts ops: $(cat "$T/out")"
grep -q "input   x" "$T/out" && ok || bad "info lists input x"
expect 0 "info --json" -- "$GB" info $M --json --nodes
npy_check "__import__('json').load(open('$T/out'))['parameters'] == 5*3+5+3*5+3+1*3+1" "info --json parameter count"

# ---- run ------------------------------------------------------------------
expect 0 "run" -- "$GB" run $M --input $X --output "$T/y.npy" --capture relu1="$T/h1.npy" --capture fc2="$T/fc2.npy"
npy_check "np.allclose(np.load('$T/y.npy')[:,0], np.load('$X').max(1), atol=1e-6)" "max3 computes max"
npy_check "np.load('$T/h1.npy').shape == (4, 5) and (np.load('$T/h1.npy') >= 0).all()" "capture relu1"
npy_check "np.load('$T/y.npy').dtype == np.float32" "output is float32"
expect 0 "run ablate" -- "$GB" run $M --input $X --output "$T/ya.npy" --ablate relu1:2 --capture relu1="$T/h1a.npy"
npy_check "(np.load('$T/h1a.npy')[:,2] == 0).all() and np.allclose(np.load('$T/h1a.npy')[:,[0,1,3,4]], np.load('$T/h1.npy')[:,[0,1,3,4]])" "ablation zeroes exactly unit 2"
# With relu1 unit 2 gone the first layer computes x0 instead of max(x0, x1).
npy_check "np.allclose(np.load('$T/ya.npy')[:,0], np.load('$X')[:,[0,2]].max(1), atol=1e-6)" "ablated network computes max(x0, x2)"
expect 0 "run scale" -- "$GB" run $M --input $X --output "$T/ys.npy" --scale relu1:all=2 --capture relu1="$T/h1s.npy"
npy_check "np.allclose(np.load('$T/h1s.npy'), 2*np.load('$T/h1.npy'))" "scale doubles every unit"
expect 0 "run set" -- "$GB" run $M --input $X --output "$T/yv.npy" --set relu1:0,3=0.5 --capture relu1="$T/h1v.npy"
npy_check "(np.load('$T/h1v.npy')[:,[0,3]] == 0.5).all()" "set units 0 and 3"
# Patch: run on other inputs, patch their layer-2 activations in: output = theirs.
"$PY" -c "import numpy as np; np.save('$T/x2.npy', np.array([[5,0,0],[0,5,0],[0,0,5],[1,2,3]], np.float32))"
expect 0 "run source" -- "$GB" run $M --input "$T/x2.npy" --output "$T/y2.npy" --capture relu2="$T/h2.npy"
expect 0 "run patch" -- "$GB" run $M --input $X --output "$T/yp.npy" --patch relu2:all="$T/h2.npy"
npy_check "np.allclose(np.load('$T/yp.npy'), np.load('$T/y2.npy'))" "patching all of layer 2 gives the source run's output"

# ---- grad -----------------------------------------------------------------
expect 0 "grad" -- "$GB" grad $M --input $X --cotangent examples/max3_cotangent.npy --output "$T/g.npy"
npy_check "np.array_equal(np.load('$T/g.npy'), np.eye(3, dtype=np.float32)[np.load('$X').argmax(1)])" "grad of max is one-hot at the argmax"
expect 0 "grad wrt weight" -- "$GB" grad $M --input $X --cotangent examples/max3_cotangent.npy --output "$T/gw.npy" --wrt fc3.weight
npy_check "np.load('$T/gw.npy').shape == (1, 3)" "weight gradient has the weight's shape"
expect 0 "grad wrt hidden" -- "$GB" grad $M --input $X --cotangent examples/max3_cotangent.npy --output "$T/gh.npy" --wrt relu2
npy_check "np.allclose(np.load('$T/gh.npy'), np.tile([1,-1,1], (4,1)))" "gradient w.r.t. layer 2 is the output weights"
"$PY" -c "import numpy as np; np.save('$T/r_bad.npy', np.ones((4, 2), np.float32))"
expect 3 "cotangent of the wrong shape" -- "$GB" grad $M --input $X --cotangent "$T/r_bad.npy" --output "$T/gbad.npy"
err_has "r_bad.npy" "cotangent shape error names the file"
no_file "$T/gbad.npy" "failed grad"

# ---- bad input files --------------------------------------------------------
expect 3 "missing model" -- "$GB" info "$T/nope.onnx"
err_has "nope.onnx" "missing model"
printf 'this is not a model' >"$T/garbage.onnx"
expect 3 "garbage model" -- "$GB" info "$T/garbage.onnx"
err_has "garbage.onnx" "garbage model"
head -c 300 $M >"$T/trunc.onnx"
expect 3 "truncated model" -- "$GB" run "$T/trunc.onnx" --input $X --output "$T/yt.npy"
err_has "trunc.onnx" "truncated model"
no_file "$T/yt.npy" "truncated model run"
expect 3 "missing input" -- "$GB" run $M --input "$T/nope.npy" --output "$T/yn.npy"
err_has "nope.npy" "missing input"
printf '\223NUMPY\001\000' >"$T/trunc.npy"
expect 3 "truncated npy" -- "$GB" run $M --input "$T/trunc.npy" --output "$T/yn.npy"
err_has "trunc.npy" "truncated npy"
"$PY" -c "import numpy as np; np.save('$T/x_wide.npy', np.ones((4, 4), np.float32))"
expect 3 "input of the wrong shape" -- "$GB" run $M --input "$T/x_wide.npy" --output "$T/yw.npy"
err_has "x_wide.npy" "shape mismatch names the data file"
no_file "$T/yw.npy" "shape mismatch"
"$PY" -c "import numpy as np; np.save('$T/x_f64.npy', np.ones((4, 3)))"
expect 3 "input of the wrong dtype" -- "$GB" run $M --input "$T/x_f64.npy" --output "$T/yd.npy"
err_has "float64" "dtype mismatch"
expect 1 "unwritable output" -- "$GB" run $M --input $X --output "$T/no/such/dir/y.npy"
err_has "y.npy" "unwritable output"
no_temp "failed writes"

# An op glassbox does not have: a clear error, never a guess.
"$PY" - "$T/unsup.onnx" <<'PYEOF'
import sys, onnx
from onnx import helper, TensorProto
g = helper.make_graph([helper.make_node("Hardmax", ["x"], ["y"], name="hm")], "g",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
PYEOF
expect 3 "unsupported op" -- "$GB" info "$T/unsup.onnx"
err_has "unsupported op Hardmax (node hm) in $T/unsup.onnx" "unsupported op message"

finish cli
