#!/bin/sh
# End-to-end checks of glassbox run on .gbx programs (the interpreter): every
# example gives the right answers through the tool, several inputs by name,
# captures of named lets, and bad programs, missing inputs or missing
# side-car weights exit 3 with a one-line FILE:LINE:COL message and no
# output file. Numeric checks use /usr/bin/python3 + numpy.
. tests/e2e/lib/common.sh
ERR_LINES=2

"$PY" - "$T" <<'PYEOF'
import sys, itertools, numpy as np
t = sys.argv[1]
rng = np.random.default_rng(3)
np.save(t + "/x3.npy", rng.uniform(-2, 2, (50, 3)).astype(np.float32))
np.save(t + "/bits.npy", np.array(list(itertools.product([0, 1], repeat=8)), np.float32))
ab = np.array(list(itertools.product([0, 1], repeat=4)), np.float32)
np.save(t + "/a.npy", ab[:, :2]); np.save(t + "/b.npy", ab[:, 2:])
np.save(t + "/x4.npy", np.zeros((2, 4), np.float32))
PYEOF

# ---- the examples ------------------------------------------------------------
expect 0 "max3" -- "$GB" run examples/max3.gbx --input "$T/x3.npy" --output "$T/max.npy"
npy_check "np.array_equal(np.load('$T/max.npy')[:, 0], np.load('$T/x3.npy').max(1))" "max3 is the max"
expect 0 "sort3" -- "$GB" run examples/sort3.gbx --input "$T/x3.npy" --output "$T/sorted.npy"
npy_check "np.array_equal(np.load('$T/sorted.npy'), np.sort(np.load('$T/x3.npy'), 1))" "sort3 sorts"
expect 0 "parity" -- "$GB" run examples/parity.gbx --input "$T/bits.npy" --output "$T/odd.npy"
npy_check "np.array_equal(np.load('$T/odd.npy'), np.load('$T/bits.npy').sum(1) % 2)" "parity of every byte"
expect 0 "adder2 by name" -- "$GB" run examples/adder2.gbx --input a="$T/a.npy" --input b="$T/b.npy" --output "$T/sum.npy"
npy_check "(lambda a, b, s: np.array_equal(s @ [1, 2, 4], a @ [1, 2] + b @ [1, 2]))(np.load('$T/a.npy'), np.load('$T/b.npy'), np.load('$T/sum.npy'))" "adder2 adds"
F=tests/fixtures/interp
expect 0 "smallconv with captures" -- "$GB" run examples/smallconv.gbx --input "$F/smallconv_input.npy" --output "$T/logits.npy" \
	--capture label="$T/label.npy" --capture fmap="$T/fmap.npy"
npy_check "np.allclose(np.load('$T/logits.npy'), np.load('$F/smallconv_logits.npy'), atol=1e-5)" "smallconv logits vs numpy"
npy_check "np.array_equal(np.load('$T/label.npy'), np.load('$F/smallconv_label.npy'))" "captured output label"
npy_check "np.load('$T/fmap.npy').shape == (11, 3, 4, 4) and (np.load('$T/fmap.npy') >= 0).all()" "captured let fmap"

# ---- errors ------------------------------------------------------------------
printf 'input x: f32[3]\noutput y = relu(x\n' >"$T/syntax.gbx"
expect 3 "syntax error" -- "$GB" run "$T/syntax.gbx" --input "$T/x3.npy" --output "$T/o1.npy"
err_has "syntax.gbx:3:1: expected" "syntax error message"
no_file "$T/o1.npy" "syntax error"
printf 'input x: f32[3]\noutput y = relu(z)\n' >"$T/unknown.gbx"
expect 3 "unknown name" -- "$GB" run "$T/unknown.gbx" --input "$T/x3.npy" --output "$T/o2.npy"
err_has "unknown.gbx:2:17: unknown name 'z'" "unknown name message"
printf 'weights "gone.safetensors"\ninput x: f32[3]\nparam W: f32[2, 3] = weights["w"]\noutput y = dense(x, W)\n' >"$T/noweights.gbx"
expect 3 "missing side-car file" -- "$GB" run "$T/noweights.gbx" --input "$T/x3.npy" --output "$T/o3.npy"
err_has "noweights.gbx:1:1: cannot read the weights" "missing side-car message"
no_file "$T/o3.npy" "missing side-car"
"$PY" -c "
import numpy as np, json, struct
w = np.ones((2, 3), np.float32).tobytes()
h = json.dumps({'other': {'dtype': 'F32', 'shape': [2, 3], 'data_offsets': [0, len(w)]}}).encode()
open('$T/w.safetensors', 'wb').write(struct.pack('<Q', len(h)) + h + w)"
printf 'weights "w.safetensors"\ninput x: f32[3]\nparam W: f32[2, 3] = weights["w"]\noutput y = dense(x, W)\n' >"$T/notensor.gbx"
expect 3 "missing side-car tensor" -- "$GB" run "$T/notensor.gbx" --input "$T/x3.npy" --output "$T/o4.npy"
err_has 'notensor.gbx:3:22: the weights file "w.safetensors" has no tensor "w"' "missing tensor message"
expect 3 "input of the wrong shape" -- "$GB" run examples/max3.gbx --input "$T/x4.npy" --output "$T/o5.npy"
err_has "max3.gbx:4:1: input 'x' needs float32 [N, 3]" "wrong input shape message"
expect 2 "missing input" -- "$GB" run examples/adder2.gbx --input a="$T/a.npy" --output "$T/o6.npy"
err_has "missing 'b'" "missing input message"
expect 2 "unknown input name" -- "$GB" run examples/adder2.gbx --input c="$T/a.npy" --output "$T/o7.npy"
expect 2 "interventions on a program" -- "$GB" run examples/max3.gbx --input "$T/x3.npy" --output "$T/o8.npy" --ablate y:0
err_has "not to .gbx programs" "intervention refusal message"
expect 2 "unknown capture" -- "$GB" run examples/max3.gbx --input "$T/x3.npy" --output "$T/o9.npy" --capture nope="$T/c.npy"
no_file "$T/o9.npy" "unknown capture"

finish program.sh
