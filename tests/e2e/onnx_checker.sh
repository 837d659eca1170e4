#!/bin/sh
# onnx_checker.sh — do other tools accept the ONNX files glassbox writes?
#
# Runs build/tests/export_roundtrip over the conformance models (and any
# model or directory given as arguments): every model glassbox can import
# is exported, re-imported and compared. Then the official checker
# (onnx.checker.check_model from python3-onnx) runs on each file glassbox
# wrote. The installed onnx knows opsets and IR versions only up to its
# release (Debian's 1.12: opset 17, IR 8), so newer models are exported and
# round-tripped but not checked; a model whose original the checker already
# rejects is not held against the export. Both counts are printed.
#
# Skips (exit 0, with a message) only when python3 or its onnx package is
# missing. Environment: BUILD (build directory, default build), CASES
# (conformance root, default ../shared/onnx-backend-tests).
. tests/e2e/lib/common.sh
CASES=${CASES:-../shared/onnx-backend-tests}
prog="$BUILD/tests/export_roundtrip"

if [ ! -x "$prog" ]; then
	echo "onnx_checker: $prog is not built (make $prog)"
	exit 1
fi
if [ ! -x "$PY" ] || ! "$PY" -c 'import onnx' 2>/dev/null; then
	echo "onnx_checker: skipped: $PY with the onnx package (python3-onnx) is not installed"
	exit 0
fi

trap 'exit 1' INT TERM

status=0
"$prog" "$T" "$CASES" "$@" || status=1

"$PY" - "$T/manifest.tsv" <<'PY' || status=1
import sys
import onnx
from onnx import checker

max_opset = onnx.defs.onnx_opset_version()
max_ir = onnx.IR_VERSION
passed = failed = newer = original_rejected = 0
for line in open(sys.argv[1]):
    opset, ir, written, original = line.rstrip("\n").split("\t")
    if int(opset) > max_opset or int(ir) > max_ir:
        newer += 1
        continue
    try:
        checker.check_model(onnx.load(original))
    except Exception:
        original_rejected += 1
        continue
    try:
        checker.check_model(onnx.load(written))
        passed += 1
    except Exception as e:
        failed += 1
        print(f"FAIL {original}: the file glassbox wrote ({written}) fails onnx.checker: {str(e).strip().splitlines()[0]}")
print(f"onnx_checker: {passed} glassbox-written models pass onnx.checker (onnx {onnx.__version__}), {failed} fail; "
      f"not checked: {newer} with opset > {max_opset} or IR > {max_ir} (newer than this onnx), "
      f"{original_rejected} whose original the checker rejects too")
sys.exit(1 if failed or passed == 0 else 0)
PY
exit $status
