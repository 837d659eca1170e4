# Helpers shared by the end-to-end scripts tests/e2e/*.sh, which source it
# from the repository root (`. tests/e2e/lib/common.sh`; tests/run runs each
# script as `env BUILD=... sh tests/e2e/NAME.sh`). It lives in a folder of
# its own so that the tests/e2e/*.sh glob does not run it as a test.
#
# Sets BUILD (default build), GB (the tool), PY (/usr/bin/python3) and T (a
# scratch folder removed on exit, read-only files included), and counts
# checks in pass and fail. Each script ends with `finish NAME`, whose exit
# status (non-zero when a check failed) is the script's verdict.
#
# ERR_LINES bounds the stderr line count err_has accepts: "N" (at most N,
# the default 1), "=N" (exactly N) or "any" (no bound).
set -u
BUILD=${BUILD:-build}
GB="$BUILD/glassbox"
PY=/usr/bin/python3
T=$(mktemp -d) || exit 1
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT
pass=0
fail=0
ERR_LINES=1

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect CODE DESCRIPTION -- command...: checks the exit code; stdout in
# $T/out, stderr in $T/err
expect() {
	code=$1; what=$2; shift 3
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq "$code" ]; then ok; else bad "$what: exit $rc, wanted $code; stderr: $(tail -n 5 "$T/err")"; fi
}

# err_has TEXT DESCRIPTION: the last command's stderr contains TEXT, in no
# more lines than ERR_LINES allows
err_has() {
	lines=$(wc -l <"$T/err")
	case "$ERR_LINES" in
	any) fits=true ;;
	=*) [ "$lines" -eq "${ERR_LINES#=}" ] && fits=true || fits=false ;;
	*) [ "$lines" -le "$ERR_LINES" ] && fits=true || fits=false ;;
	esac
	if grep -qF -- "$1" "$T/err" && $fits; then ok; else bad "$2: stderr should name '$1' in $ERR_LINES line(s), got: $(cat "$T/err")"; fi
}

# has FILE TEXT DESCRIPTION: FILE contains TEXT
has() { if grep -qF -- "$2" "$1"; then ok; else bad "$3: '$2' not in $1: $(head -c 2000 "$1")"; fi; }

# no_file PATH DESCRIPTION: nothing was written at PATH
no_file() { if [ -e "$1" ]; then bad "$2: $1 should not exist"; else ok; fi; }

# npy_check PYTHON-EXPRESSION DESCRIPTION: the expression is true (np loaded)
npy_check() {
	if "$PY" -c "import numpy as np, sys; sys.exit(0 if ($1) else 1)" 2>"$T/pyerr"; then ok; else bad "$2 $(cat "$T/pyerr")"; fi
}

# py PYTHON DESCRIPTION: the Python statements run without an exception
# (numpy as np, json, sys and os imported)
py() {
	if "$PY" -c "import numpy as np, json, sys, os
$1" 2>"$T/pyerr"; then ok; else bad "$2: $(tail -n 5 "$T/pyerr")"; fi
}

# finish NAME: prints the tally; its exit status is the verdict
finish() {
	echo "$1: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
