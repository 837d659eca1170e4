#!/bin/sh
# End-to-end checks of 'glassbox data': task files numpy can read with the
# right labels, the same file for the same seed, usage errors (exit 2) and
# bad input (exit 3) with one-line messages and nothing written.
. tests/e2e/lib/common.sh

expect 0 "help data" -- "$GB" help data
grep -q "usage: glassbox data" "$T/out" || bad "help data prints the usage"
expect 0 "data tasks" -- "$GB" data tasks
for f in parity-N majority-N add-N max-K min-K sort-K modadd-P pair shapes-S; do
	grep -q "$f" "$T/out" || bad "data tasks lists $f"
done

expect 0 "parity-6 exhaustive" -- "$GB" data task parity-6 --n 100 -o "$T/p.npz"
grep -q "64 samples (every input once)" "$T/out" || bad "parity-6 says it enumerated: $(cat "$T/out")"
py "z = np.load('$T/p.npz'); x, y = z['x'], z['y']
assert x.shape == (64, 6) and x.dtype == np.float32 and y.dtype == np.int64
assert (y == x.sum(1).astype(int) % 2).all()
assert len({tuple(r) for r in x}) == 64" "parity-6 labels"

expect 0 "modadd-5" -- "$GB" data task modadd-5 --n 10 --seed 3 -o "$T/m.npz"
py "z = np.load('$T/m.npz'); x, y = z['x'], z['y']
a, b = x[:, :5].argmax(1), x[:, 5:].argmax(1)
assert x.shape == (10, 10) and (x.sum(1) == 2).all() and (y == (a + b) % 5).all()" "modadd-5 labels"

expect 0 "sort-4" -- "$GB" data task sort-4 --n 50 --seed 9 -o "$T/s.npz"
py "z = np.load('$T/s.npz')
assert z['y'].dtype == np.float32 and (np.sort(z['x'], 1) == z['y']).all()" "sort-4 targets"
expect 0 "sort-4 again" -- "$GB" data task sort-4 --n 50 --seed 9 -o "$T/s2.npz"
cmp -s "$T/s.npz" "$T/s2.npz" && ok || bad "same spec, n and seed give the same file"
expect 0 "sort-4 other seed" -- "$GB" data task sort-4 --n 50 --seed 10 -o "$T/s3.npz"
cmp -s "$T/s.npz" "$T/s3.npz" && bad "another seed gives another file" || ok

expect 0 "shapes-8" -- "$GB" data task shapes-8 --n 20 -o "$T/i.npz"
py "z = np.load('$T/i.npz'); assert z['x'].shape == (20, 1, 8, 8) and set(z['y']) <= {0, 1, 2, 3}" "shapes-8 shape"

# Usage errors: exit 2, nothing written.
expect 2 "unknown task" -- "$GB" data task nosuch-3 --n 10 -o "$T/u.npz"
err_has "unknown task 'nosuch-3'" "unknown task named"
no_file "$T/u.npz" "unknown task"
expect 2 "even majority" -- "$GB" data task majority-4 --n 10 -o "$T/u.npz"
err_has "majority-4" "bad parameter named"
expect 2 "missing --n" -- "$GB" data task parity-3 -o "$T/u.npz"
expect 2 "bad --n" -- "$GB" data task parity-3 --n 0 -o "$T/u.npz"
expect 2 "bad --seed" -- "$GB" data task parity-3 --n 5 --seed -1 -o "$T/u.npz"
expect 2 "missing -o" -- "$GB" data task parity-3 --n 5
expect 2 "no subcommand" -- "$GB" data
expect 2 "unknown subcommand" -- "$GB" data frobnicate
no_file "$T/u.npz" "usage errors"

# Bad input: a digits directory without the files.
mkdir "$T/empty"
expect 3 "mnist from an empty directory" -- "$GB" data mnist --from "$T/empty" -o "$T/mn"
err_has "0.json" "missing digit file named"
no_file "$T/mn/train.npz" "failed conversion"
expect 1 "unwritable output" -- "$GB" data task parity-3 --n 5 -o "$T/no/such/dir/p.npz"

finish data
