#!/bin/sh
# bench/decompile.sh — decompiler wall times (part of make bench): the whole
# network zoo (glassbox zoo build, then zoo score: every case's time) and the
# zoo's MNIST 784-256-256-256-256-10 MLP on its 1,000 data digits, exact and
# at 99 % argmax agreement (no --retrain). Targets (issue): the zoo in under
# a minute, the MNIST MLP in under 30 s, on a 2-core machine.
# Usage: [BUILD=build] bench/decompile.sh
set -u
BUILD=${BUILD:-build}
GB="$BUILD/glassbox"
T=$(mktemp -d "${TMPDIR:-/tmp}/glassbox-bench-decompile.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT

now() { date +%s.%N; }
quick=""
[ -f data/mnist/train.npz ] || { quick="--quick"; echo "bench decompile: no data/mnist (make data): zoo without MNIST"; }
"$GB" zoo build "$T/zoo" $quick >/dev/null 2>"$T/build.err" || { cat "$T/build.err"; exit 1; }
t0=$(now)
"$GB" zoo score "$T/zoo" --markdown "$T/table.md" >"$T/score.out" 2>&1 || { tail -5 "$T/score.out"; exit 1; }
t1=$(now)
sed -n 's/^\[[0-9]*\/[0-9]*\] \([^:]*\): .*, \([0-9.]*\)s$/bench decompile_case \1 seconds=\2/p' "$T/score.out"
zoo=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
echo "bench decompile_zoo seconds=$zoo ($(tail -1 "$T/table.md"))"
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? "PASS" : "MISS" }'; }
printf '%-44s %8s %8s  %s\n' "summary (seconds)" "time" "target" "verdict"
printf '%-44s %8.1f %8s  %s\n' "zoo score, every case" "$zoo" "< 60" "$(verdict "$zoo" 60)"
if [ -z "$quick" ]; then
	M="$T/zoo/mnist-mlp"
	for mode in exact agreement; do
		extra="--compress off"
		[ "$mode" = agreement ] && extra="--agreement 0.99"
		t0=$(now)
		"$GB" decompile "$M/model.onnx" --domain data --data "$M/X.npy" $extra -o "$T/mnist_$mode.gbx" 2>"$T/err" ||
			{ cat "$T/err"; exit 1; }
		t1=$(now)
		s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
		echo "bench decompile_mnist_$mode seconds=$s"
		printf '%-44s %8.1f %8s  %s\n' "MNIST 4x256 MLP, $mode" "$s" "< 30" "$(verdict "$s" 30)"
	done
fi
