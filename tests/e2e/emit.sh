#!/bin/sh
# End-to-end checks of glassbox emit: examples/max3.onnx and every example
# program (.gbx, compiled with native operators) are emitted as C and as
# NumPy; the C compiles warning-free (cc -std=c11 -Wall -Wextra -Werror),
# is called through ctypes with the signature its header comment documents,
# and both agree with 'glassbox run' on the same inputs. Bad input (a
# corrupt .onnx, an op the emitters do not translate, an unknown flag, no
# language) gives the right exit code, a one-line error and no output file.
# Uses /usr/bin/python3 + numpy (+ onnx to build the unsupported-op model).
. tests/e2e/lib/common.sh
ERR_LINES="=1"

"$PY" - "$T" <<'PYEOF'
import sys, itertools, numpy as np
t = sys.argv[1]
rng = np.random.default_rng(7)
x3 = rng.uniform(-2, 2, (40, 3)).astype(np.float32)
x3[:3] = [[0, 0, 0], [1, 1, 1], [-1, 2, 2]]
np.save(t + "/x3.npy", x3)
np.save(t + "/bits.npy", np.array(list(itertools.product([0, 1], repeat=8)), np.float32))
ab = np.array(list(itertools.product([0, 1], repeat=4)), np.float32)
np.save(t + "/a.npy", ab[:, :2]); np.save(t + "/b.npy", ab[:, 2:])
PYEOF

# check.py SOURCE.c MODULE.py WANT.npy INPUT.npy...: builds SOURCE.c into a
# shared library, calls 'model' with the parameters the header comment
# lists, calls MODULE.model, and compares the first outputs with WANT.
cat >"$T/check.py" <<'PYEOF'
import ctypes, importlib.util, re, subprocess, sys
import numpy as np
src, mod_path, want_path = sys.argv[1:4]
xs = [np.load(p) for p in sys.argv[4:]]
want = np.load(want_path)
so = src[:-2] + ".so"
subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-shared", "-fPIC", "-o", so, src, "-lm"],
               check=True)
header = open(src).read().split("*/")[0]
params = re.findall(r"^ \*   (\w+)\s+(float|int64_t|unsigned char) \[([^\]]*)\] (input|output)", header, re.M)
types = {"float": np.float32, "int64_t": np.int64, "unsigned char": np.bool_}
n = xs[0].shape[0]
args, outs, k = [ctypes.c_int64(n)], [], 0
for name, ctype, shape, role in params:
    dims = tuple(eval(d, {"n": n}) for d in shape.split(", ") if d)
    if role == "input":
        a = np.ascontiguousarray(xs[k], dtype=types[ctype]); k += 1
        assert a.shape == dims, (name, a.shape, dims)
    else:
        a = np.zeros(dims, dtype=types[ctype]); outs.append(a)
    args.append(a.ctypes.data_as(ctypes.c_void_p))
lib = ctypes.CDLL(so)
lib.model.restype = ctypes.c_int
rc = lib.model(*args)
assert rc == 0, "C returned %d" % rc
spec = importlib.util.spec_from_file_location("emitted", mod_path)
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
got_py = mod.model(*xs)
got_py = got_py[0] if isinstance(got_py, tuple) else got_py
for lang, got in (("C", outs[0]), ("numpy", got_py)):
    assert got.shape == want.shape and got.dtype == want.dtype, (lang, got.shape, got.dtype, want.shape, want.dtype)
    assert np.allclose(got, want, rtol=1e-5, atol=1e-5), (lang, np.abs(got.astype(np.float64) - want).max())
PYEOF

# ---- max3.onnx: emitted both ways, agrees with 'glassbox run' ------------------------
expect 0 "run max3.onnx" -- "$GB" run examples/max3.onnx --input examples/max3_input.npy --output "$T/max3_want.npy"
expect 0 "emit --c max3.onnx" -- "$GB" emit examples/max3.onnx --c -o "$T/max3.c"
expect 0 "emit --numpy max3.onnx" -- "$GB" emit examples/max3.onnx --numpy -o "$T/max3.py"
if "$PY" "$T/check.py" "$T/max3.c" "$T/max3.py" "$T/max3_want.npy" examples/max3_input.npy 2>"$T/pyerr"; then ok; else
	bad "max3.onnx emitted: $(tail -3 "$T/pyerr")"; fi
expect 0 "emit to stdout" -- "$GB" emit examples/max3.onnx --numpy --name forward
if grep -q '^def forward(x):' "$T/out"; then ok; else bad "--name forward should name the NumPy function"; fi
expect 0 "emit --c to stdout" -- "$GB" emit examples/max3.onnx --c --name forward
if grep -q '^int forward(int64_t n, const float \*x, float \*y)$' "$T/out"; then ok; else
	bad "--name forward should name the C function"; fi

# ---- every example program, compiled natively, emitted both ways ---------------------
for ex in max3 sort3 parity adder2 smallconv; do
	case $ex in
	max3 | sort3) ins="$T/x3.npy"; run_ins="--input $T/x3.npy" ;;
	parity) ins="$T/bits.npy"; run_ins="--input $T/bits.npy" ;;
	adder2) ins="$T/a.npy $T/b.npy"; run_ins="--input a=$T/a.npy --input b=$T/b.npy" ;;
	smallconv) ins="tests/fixtures/interp/smallconv_input.npy"; run_ins="--input $ins" ;;
	esac
	# shellcheck disable=SC2086
	expect 0 "run $ex.gbx" -- "$GB" run "examples/$ex.gbx" $run_ins --output "$T/${ex}_want.npy"
	expect 0 "emit --c $ex.gbx" -- "$GB" emit "examples/$ex.gbx" --c -o "$T/$ex.c"
	expect 0 "emit --numpy $ex.gbx" -- "$GB" emit "examples/$ex.gbx" --numpy -o "$T/$ex.py"
	# shellcheck disable=SC2086
	if "$PY" "$T/check.py" "$T/$ex.c" "$T/$ex.py" "$T/${ex}_want.npy" $ins 2>"$T/pyerr"; then ok; else
		bad "$ex.gbx emitted: $(tail -3 "$T/pyerr")"; fi
done

# ---- bad input ---------------------------------------------------------------------------
head -c 100 examples/max3.onnx >"$T/corrupt.onnx"
expect 3 "corrupt model" -- "$GB" emit "$T/corrupt.onnx" --c -o "$T/corrupt.c"
err_has "corrupt.onnx" "corrupt model"
no_file "$T/corrupt.c" "corrupt model"

"$PY" - "$T" <<'PYEOF'
import sys, onnx
from onnx import helper, TensorProto
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 4, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1, 2, 2])
i = helper.make_tensor_value_info("i", TensorProto.INT64, ["N", 1, 2, 2])
node = helper.make_node("MaxPool", ["x"], ["y", "i"], name="pool", kernel_shape=[2, 2], strides=[2, 2])
g = helper.make_graph([node], "g", [x], [y, i])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1] + "/indices.onnx")
PYEOF
expect 3 "unsupported feature" -- "$GB" emit "$T/indices.onnx" --numpy -o "$T/indices.py"
err_has "pool" "unsupported feature"
no_file "$T/indices.py" "unsupported feature"
expect 3 "unsupported feature (C)" -- "$GB" emit "$T/indices.onnx" --c -o "$T/indices.c"
err_has "Indices output is not supported" "unsupported feature (C)"
no_file "$T/indices.c" "unsupported feature (C)"

expect 2 "unknown flag" -- "$GB" emit examples/max3.onnx --c --fortran -o "$T/flag.c"
err_has "--fortran" "unknown flag"
no_file "$T/flag.c" "unknown flag"
expect 2 "no language" -- "$GB" emit examples/max3.onnx -o "$T/nolang.c"
no_file "$T/nolang.c" "no language"
expect 2 "bad --name" -- "$GB" emit examples/max3.onnx --c --name 2bad -o "$T/name.c"
no_file "$T/name.c" "bad --name"
expect 3 "missing file" -- "$GB" emit "$T/nope.onnx" --c -o "$T/nope.c"
no_file "$T/nope.c" "missing file"

finish emit.sh
