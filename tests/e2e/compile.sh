#!/bin/sh
# End-to-end checks of glassbox compile: every example compiles in both
# modes (ReLU expansions and --native), the compiled network run by
# 'glassbox run' gives what the program run by the interpreter gives on the
# same inputs, and onnx.checker accepts every compiled file; bad programs (a
# syntax error, a missing side-car, step without width= in ReLU mode) exit 3
# with a one-line FILE:LINE:COL message and leave no output file.
# Numeric checks use /usr/bin/python3 + numpy (+ onnx for the checker).
. tests/e2e/lib/common.sh
ERR_LINES=2

"$PY" - "$T" <<'PYEOF'
import sys, itertools, numpy as np
t = sys.argv[1]
rng = np.random.default_rng(5)
x3 = rng.uniform(-2, 2, (50, 3)).astype(np.float32)
x3[:4] = [[0, 0, 0], [1, 1, 1], [-1, 2, 2], [1e6, -3e5, 7e5]]  # zeros, ties, large
np.save(t + "/x3.npy", x3)
np.save(t + "/bits.npy", np.array(list(itertools.product([0, 1], repeat=8)), np.float32))
ab = np.array(list(itertools.product([0, 1], repeat=4)), np.float32)
np.save(t + "/a.npy", ab[:, :2]); np.save(t + "/b.npy", ab[:, 2:])
PYEOF
F=tests/fixtures/interp

# ---- the examples, both modes ------------------------------------------------------
# name, inputs (as 'glassbox run' takes them), exact in native mode?
for mode in relu native; do
	flag=""
	[ "$mode" = native ] && flag="--native"
	for ex in max3 sort3 parity adder2 smallconv; do
		case $ex in
		max3 | sort3) ins="--input $T/x3.npy" ;;
		parity) ins="--input $T/bits.npy" ;;
		adder2) ins="--input a=$T/a.npy --input b=$T/b.npy" ;;
		smallconv) ins="--input $F/smallconv_input.npy" ;;
		esac
		net="$T/${ex}_$mode.onnx"
		expect 0 "compile $ex ($mode)" -- "$GB" compile "examples/$ex.gbx" -o "$net" $flag
		# shellcheck disable=SC2086
		expect 0 "run compiled $ex ($mode)" -- "$GB" run "$net" $ins --output "$T/${ex}_$mode.npy"
		# shellcheck disable=SC2086
		expect 0 "run $ex.gbx" -- "$GB" run "examples/$ex.gbx" $ins --output "$T/${ex}_gbx.npy"
		want="np.load('$T/${ex}_gbx.npy')"
		have="np.load('$T/${ex}_$mode.npy')"
		case "$ex:$mode" in
		smallconv:*) cmp="np.allclose($have, $want, rtol=1e-5, atol=1e-5)" ;;
		*:native | parity:* | adder2:*) cmp="np.array_equal($have, $want)" ;;
		*) cmp="np.allclose($have, $want, rtol=4e-6, atol=4e-6)" ;;
		esac
		npy_check "$have.shape == $want.shape and $have.dtype == $want.dtype and $cmp" "$ex ($mode) agrees with the interpreter"
	done
done
npy_check "np.array_equal(np.load('$T/max3_native.npy')[:, 0], np.load('$T/x3.npy').max(1))" "compiled max3 is the max"
npy_check "np.array_equal(np.load('$T/parity_relu.npy'), np.load('$T/bits.npy').sum(1) % 2)" "compiled parity (ReLU) on every byte"

# ---- what the networks are made of ---------------------------------------------------
if "$PY" -c "import onnx" 2>/dev/null; then
	if "$PY" - "$T" >"$T/checker" 2>&1 <<'PYEOF'
import sys, glob, onnx
bad = 0
forbidden = {"Max", "Min", "Abs", "Clip", "MaxPool", "TopK", "ReduceMax", "ReduceMin"}
for f in sorted(glob.glob(sys.argv[1] + "/*.onnx")):
    m = onnx.load(f)
    onnx.checker.check_model(m)
    ops = {n.op_type for n in m.graph.node}
    if f.endswith("_relu.onnx") and ops & forbidden:
        print(f, "uses", ops & forbidden); bad += 1
    if m.opset_import[0].version != 13:
        print(f, "is opset", m.opset_import[0].version); bad += 1
    for v in list(m.graph.input) + list(m.graph.output):
        if v.type.tensor_type.shape.dim[0].dim_param != "N":
            print(f, v.name, "has no batch axis N"); bad += 1
m = onnx.load(sys.argv[1] + "/smallconv_relu.onnx")
inits = {i.name: list(i.dims) for i in m.graph.initializer}
if inits.get("K") != [3, 1, 3, 3] or "W2" not in inits:
    print("smallconv: initializers", inits); bad += 1
if [o.name for o in m.graph.output] != ["logits", "label"]:
    print("smallconv: outputs", [o.name for o in m.graph.output]); bad += 1
sys.exit(1 if bad else 0)
PYEOF
	then ok; else bad "onnx.checker / graph contents: $(cat "$T/checker")"; fi
else
	echo "compile.sh: onnx.checker skipped ($PY has no onnx package)"
fi

# ---- errors ---------------------------------------------------------------------------
printf 'input x: f32[3]\noutput y = relu(x\n' >"$T/syntax.gbx"
expect 3 "syntax error" -- "$GB" compile "$T/syntax.gbx" -o "$T/o1.onnx"
err_has "syntax.gbx:3:1: expected" "syntax error message"
no_file "$T/o1.onnx" "syntax error"
printf 'weights "gone.safetensors"\ninput x: f32[3]\nparam W: f32[2, 3] = weights["w"]\noutput y = dense(x, W)\n' >"$T/noweights.gbx"
expect 3 "missing side-car file" -- "$GB" compile "$T/noweights.gbx" -o "$T/o2.onnx"
err_has "noweights.gbx:1:1: cannot read the weights" "missing side-car message"
no_file "$T/o2.onnx" "missing side-car"
printf 'input x: f32[3]\noutput y = step(x, 0.5)\n' >"$T/step.gbx"
expect 3 "step without width" -- "$GB" compile "$T/step.gbx" -o "$T/o3.onnx"
err_has "step.gbx:2:12: step without width= has no exact ReLU expansion" "step message"
no_file "$T/o3.onnx" "step without width"
expect 0 "step without width, native" -- "$GB" compile "$T/step.gbx" -o "$T/o4.onnx" --native
# a side-car is read relative to the program
"$PY" -c "
import numpy as np, json, struct
w = np.arange(6, dtype=np.float32).reshape(2, 3).tobytes()
h = json.dumps({'w': {'dtype': 'F32', 'shape': [2, 3], 'data_offsets': [0, len(w)]}}).encode()
open('$T/w.safetensors', 'wb').write(struct.pack('<Q', len(h)) + h + w)"
printf 'weights "w.safetensors"\ninput x: f32[3]\nparam W: f32[2, 3] = weights["w"]\noutput y = dense(x, W)\n' >"$T/side.gbx"
expect 0 "side-car program" -- "$GB" compile "$T/side.gbx" -o "$T/side.onnx"
expect 0 "run side-car network" -- "$GB" run "$T/side.onnx" --input "$T/x3.npy" --output "$T/side.npy"
npy_check "np.allclose(np.load('$T/side.npy'), np.load('$T/x3.npy') @ np.arange(6, dtype=np.float32).reshape(2, 3).T, rtol=1e-5, atol=1e-3)" "side-car weights"
expect 2 "no output file" -- "$GB" compile examples/max3.gbx
expect 2 "unknown option" -- "$GB" compile examples/max3.gbx -o "$T/o5.onnx" --fast
no_file "$T/o5.onnx" "usage error"

finish compile.sh
