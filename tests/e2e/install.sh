#!/bin/sh
# make install into a temporary prefix, then build a small program against the
# installed header and library through the installed glassbox.pc (static and
# shared), and run the installed tool.
. tests/e2e/lib/common.sh
set -e
case "$BUILD" in
build-san*)
	# Sanitized objects cannot be linked into a plain consumer; the normal
	# build's run of this script covers installation.
	echo "install: skipped in the sanitizer build (checked in the normal build)"
	exit 0
	;;
esac
make --no-print-directory -s install PREFIX="$T/prefix" BUILD="$BUILD" >"$T/install.log" 2>&1 || {
	cat "$T/install.log"
	exit 1
}
for f in include/glassbox.h lib/libglassbox.a lib/libglassbox.so lib/libglassbox.so.0 lib/pkgconfig/glassbox.pc bin/glassbox; do
	[ -e "$T/prefix/$f" ] || { echo "install: $f missing"; exit 1; }
done
cat >"$T/consumer.c" <<'CEOF'
#include <glassbox.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	gb_error err = {0};
	gb_model *m = NULL;
	if (gb_model_load(argv[1], &m, &err) != GB_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	printf("%d nodes, %lld parameters\n", gb_model_n_nodes(m), (long long)gb_model_param_count(m));
	gb_model_free(m);
	return argc == 2 ? 0 : 1;
}
CEOF
export PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig"
# shellcheck disable=SC2046
cc -std=c11 -o "$T/consumer_static" "$T/consumer.c" $(pkg-config --cflags glassbox) \
	"$T/prefix/lib/libglassbox.a" $(pkg-config --libs-only-other --static glassbox) \
	$(pkg-config --static --libs glassbox | sed 's/-lglassbox//')
out=$("$T/consumer_static" examples/max3.onnx)
[ "$out" = "5 nodes, 42 parameters" ] || { echo "static consumer printed '$out'"; exit 1; }
# shellcheck disable=SC2046
cc -std=c11 -o "$T/consumer_shared" "$T/consumer.c" $(pkg-config --cflags --libs glassbox)
out=$(LD_LIBRARY_PATH="$T/prefix/lib" "$T/consumer_shared" examples/max3.onnx)
[ "$out" = "5 nodes, 42 parameters" ] || { echo "shared consumer printed '$out'"; exit 1; }
"$T/prefix/bin/glassbox" info examples/max3.onnx >/dev/null
echo "install: header, static and shared library, pkg-config file and tool all work"
