#!/bin/sh
# End-to-end checks of 'glassbox zoo' (with --quick): every case folder has
# its four files and expect.json its keys; building twice gives the same
# bytes; a planted network agrees with its program through 'glassbox run'
# (independently of the build's own check); score prints one row per case
# and recovers the max/min-like planted cases (faithful, ops ratio <= 2);
# --json and --markdown are written; bad input gets the documented exit
# codes.
. tests/e2e/lib/common.sh
ERR_LINES=any

expect 0 "help zoo" -- "$GB" help zoo
grep -q "usage: glassbox zoo build" "$T/out" && ok || bad "help text: $(head -3 "$T/out")"

# ---- build ------------------------------------------------------------------------------------
expect 0 "zoo build --quick" -- "$GB" zoo build "$T/z1" --quick -q
grep -q "^$T/z1: 67 cases" "$T/out" && ok || bad "build summary: $(cat "$T/out")"
expect 0 "zoo build --quick again" -- "$GB" zoo build "$T/z2" --quick -q
if diff -r "$T/z1" "$T/z2" >"$T/diff" 2>&1; then ok; else bad "two builds differ: $(head -5 "$T/diff")"; fi

py "
root = '$T/z1'
cases = sorted(os.listdir(root))
assert len(cases) == 67, len(cases)
planted = [c for c in cases if c.rsplit('-', 1)[-1] in ('s0', 's2', 's5', 'noisy')]
assert len(planted) == 60, len(planted)
for c in cases:
    d = os.path.join(root, c)
    assert sorted(os.listdir(d)) == ['T.npy', 'X.npy', 'expect.json', 'model.onnx'], (c, os.listdir(d))
    e = json.load(open(os.path.join(d, 'expect.json')))
    for k in ('case', 'kind', 'domain', 'program', 'program_ops', 'primitives', 'structure'):
        assert k in e, (c, k)
    assert e['case'] == c, c
    assert set(e['structure']) >= {'modules', 'conv', 'maps'}, c
    x, t = np.load(os.path.join(d, 'X.npy')), np.load(os.path.join(d, 'T.npy'))
    assert x.dtype == np.float32 and x.shape[0] == t.shape[0], (c, x.shape, t.shape)
    if e['kind'] == 'planted':
        assert set(e['disguise']) >= {'seed', 'strength', 'noise', 'max_error'}, c
        bound = 0.05 if e['disguise']['noise'] > 0 else 1e-5
        assert e['disguise']['max_error'] <= bound, (c, e['disguise'])
    else:
        assert e['kind'] == 'trained', c
        for k in ('task', 'arch', 'seed', 'test_accuracy'):
            assert k in e, (c, k)
        assert e['test_accuracy'] >= 0.99, (c, e['test_accuracy'])
    if e['domain'] == 'bool':
        n = x.shape[1]
        assert x.shape[0] == 2 ** n and set(np.unique(x)) <= {0.0, 1.0}, c
        assert len({tuple(r) for r in x}) == 2 ** n, c
    elif e['domain'].startswith('box:'):
        lo, hi = map(float, e['domain'][4:].split(','))
        assert x.shape[0] == 1000 and x.min() >= lo and x.max() <= hi, c
e = json.load(open(os.path.join(root, 'max4-s2', 'expect.json')))
assert e['program_ops'] == 1 and e['primitives'] == {'max': 1} and e['structure']['modules'] == 1, e
assert e['disguise']['strength'] == 2 and e['disguise']['noise'] == 0, e['disguise']
e = json.load(open(os.path.join(root, 'twomod-s0', 'expect.json')))
assert e['structure']['modules'] == 2, e['structure']
e = json.load(open(os.path.join(root, 'map4-s5', 'expect.json')))
assert e['structure']['modules'] == 4 and len(e['structure']['maps']) == 1, e['structure']
e = json.load(open(os.path.join(root, 'convdense-s2', 'expect.json')))
assert len(e['structure']['conv']) == 1 and e['primitives']['conv2d'] == 1, e
" "case folders, files and expect.json keys"

# Independently of the build's check: a disguised network and its program
# through 'glassbox run' (the program reads X in its own shape).
for c in sort4-s5 parity6-s2 convdense-s5; do
	prog=$("$PY" -c "import json; print(json.load(open('$T/z1/$c/expect.json'))['program_file'])")
	expect 0 "run $c network" -- "$GB" run "$T/z1/$c/model.onnx" --input "$T/z1/$c/X.npy" --output "$T/net.npy"
	"$PY" -c "
import numpy as np
x = np.load('$T/z1/$c/X.npy')
shape = {'convdense-s5': (1, 6, 6)}.get('$c', x.shape[1:])
np.save('$T/xp.npy', x.reshape((x.shape[0],) + shape))"
	expect 0 "run $c program" -- "$GB" run "zoo/$prog" --input "$T/xp.npy" --output "$T/prog.npy"
	py "a = np.load('$T/net.npy'); b = np.load('$T/prog.npy').reshape(a.shape); t = np.load('$T/z1/$c/T.npy')
assert np.abs(a - b).max() <= 1e-5, np.abs(a - b).max()
assert np.abs(b - t.reshape(b.shape)).max() == 0" "$c: network and program agree"
done

# ---- score ------------------------------------------------------------------------------------
expect 0 "zoo score" -- "$GB" zoo score "$T/z1" --json "$T/rows.json" --markdown "$T/table.md" -q
rows=$(grep -cE '^[a-z0-9-]+ +(planted|trained) ' "$T/out")
[ "$rows" -eq 67 ] && ok || bad "score printed $rows rows, wanted 67: $(head -5 "$T/out")"
grep -q "^67 cases: " "$T/out" && ok || bad "closing line: $(tail -3 "$T/out")"
py "
rows = json.load(open('$T/rows.json'))
assert len(rows) == 67, len(rows)
by = {r['case']: r for r in rows}
for c in ('max4', 'min4', 'sort3', 'sort4', 'abs', 'twomod', 'map4'):
    for v in ('s0', 's2', 's5'):
        r = by[c + '-' + v]
        assert r['decompiled'] and r['faithful'] and not r['false_faithful'], r
        assert r['program_ops'] <= 2 * r['truth_ops'], r
        assert r['primitives_found'] == r['primitives_expected'], r
        assert r['modules'] == r['modules_expected'], r
        assert r['recovered'], r
assert by['map4-s2'].get('map_found') is True, by['map4-s2']
# every planted case, noisy ones included, and the trained networks whose
# task's formula is within their tolerance
for c in [r['case'] for r in rows if r['kind'] == 'planted'] + ['pair-w8-s1', 'sort-3-w8-s1', 'max-3-w8-s1',
                                                                  'modadd-5-w8-s1']:
    assert by[c]['recovered'], by[c]
assert by['pair-w8-s1']['modules'] == 2 and by['pair-w8-s1']['program_ops'] == 2, by['pair-w8-s1']
assert by['convdense-noisy']['conv_found'], by['convdense-noisy']
assert sum(r['recovered'] for r in rows) == 67, [r['case'] for r in rows if not r['recovered']]
# the noise-free planted programs on small boxes are proven, not only sampled
for c in ('max4', 'min4', 'abs', 'clamp', 'sort3', 'twomod', 'map4'):
    assert by[c + '-s2']['method'] == 'certified', by[c + '-s2']
assert sum(r['method'] == 'certified' for r in rows) >= 30, sum(r['method'] == 'certified' for r in rows)
for r in rows:
    assert not r['false_faithful'], r
    if r['kind'] == 'planted' and r['case'].endswith(('-s0', '-s2', '-s5')):
        assert r['faithful'] and r['max_error'] <= 1e-4, r
" "score rows: max/min/sort-like planted cases recovered"
md=$(grep -c '^| ' "$T/table.md")
[ "$md" -eq 68 ] && ok || bad "markdown table has $md rows, wanted 68 (header + 67)"

# ---- bad input --------------------------------------------------------------------------------
mkdir "$T/ro"
chmod a-w "$T/ro"
if [ "$(id -u)" -ne 0 ]; then
	expect 1 "build into an unwritable folder" -- "$GB" zoo build "$T/ro/zoo" --quick -q
	err_has "cannot create the folder $T/ro/zoo" "unwritable folder named"
fi
: >"$T/file"
expect 1 "build where a file is" -- "$GB" zoo build "$T/file/zoo" --quick -q
err_has "$T/file/zoo" "the folder is named"
mkdir "$T/empty"
expect 3 "score a folder without cases" -- "$GB" zoo score "$T/empty"
err_has "no zoo cases" "no cases said"
expect 3 "score a missing folder" -- "$GB" zoo score "$T/missing"
expect 2 "unknown subcommand" -- "$GB" zoo frobnicate
err_has "unknown subcommand 'frobnicate'" "unknown subcommand named"
expect 2 "no subcommand" -- "$GB" zoo
expect 2 "build without a folder" -- "$GB" zoo build
expect 2 "unknown option" -- "$GB" zoo score "$T/z1" --bogus
expect 3 "missing programs folder" -- "$GB" zoo build "$T/z3" --quick --programs "$T/nowhere"

finish zoo
