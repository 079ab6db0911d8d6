# lrp: Layer-wise Relevance Propagation for ONNX image classifiers.
#
#   make                 build ./lrp and build/liblrp.{a,so}
#   make test            build, then run the unit and command-line tests once
#   make check           build, then run every test (unit, ONNX operator tests,
#                        zennit conformance, command line; again under
#                        sanitizers; valgrind): what CI runs
#   make format-check    check that the C sources are as clang-format 14 writes
#                        them (.clang-format); `make format` rewrites them so
#   make install PREFIX=/usr/local
#
# Needs Debian packages: protobuf-c-compiler libprotobuf-c-dev libonnx-dev
# libpng-dev libjpeg62-turbo-dev libopenblas-openmp-dev libcmocka-dev.
# Variables: BUILD (output directory), SANITIZE=1 (ASan+UBSan build),
# CC, CFLAGS, PREFIX, DESTDIR, OPENBLAS_DIR/OPENBLAS_INC (another OpenBLAS).

CC       ?= cc
BUILD    ?= build
PREFIX   ?= /usr/local
PKGS     := libpng libprotobuf-c
# OpenBLAS: Debian's OpenMP build, so that its threads and lrp's own OpenMP
# loops share one thread pool (the default pthread build and OpenMP spin
# against each other on few cores). It lives in its own multiarch directory,
# hence the rpath.
MULTIARCH  := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
OPENBLAS_DIR ?= /usr/lib/$(MULTIARCH)/openblas-openmp
OPENBLAS_INC ?= /usr/include/$(MULTIARCH)/openblas-openmp
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS)) -I$(OPENBLAS_INC)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS)) -ljpeg -L$(OPENBLAS_DIR) -Wl,-rpath,$(OPENBLAS_DIR) -lopenblas
ONNX_PROTO ?= /usr/include/onnx/onnx.proto

OPT      ?= -O3
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS   ?=
ALL_CFLAGS := -std=c11 -ffp-contract=off -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(OPT) -g $(WARN) -fopenmp -fPIC \
              -Iinclude -Isrc -I$(BUILD)/gen $(PKG_CFLAGS) $(CFLAGS)
LDLIBS   := $(PKG_LIBS) -lm -fopenmp

ifeq ($(SANITIZE),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDLIBS     += -fsanitize=address,undefined
endif

LIB_SRC  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c src/*/*/*.c)))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
GEN_SRC  := $(BUILD)/gen/onnx.pb-c.c
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/onnx.pb-c.o
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
PUB_HDR  := $(sort $(wildcard include/*.h))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TEST_HELPERS := $(filter-out $(TEST_SRC),$(wildcard tests/unit/*.c))
TEST_HELPER_OBJ := $(TEST_HELPERS:%.c=$(BUILD)/%.o)

BIN := $(if $(filter build,$(BUILD)),lrp,$(BUILD)/lrp)

# The float64 build behind --double: the library and the commands compiled a
# second time with LRP_REAL_DOUBLE (lrp_real = double, include/lrp.h), each
# half linked into one object whose every global symbol gets the suffix _f64
# (objcopy), so that both builds live in one binary: the float32 commands
# hand --double to cli_main_f64. liblrp64.a holds the library half, for the
# tests that compare the two precisions.
F64_LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/f64/%.o)
F64_CLI_OBJ := $(filter-out $(BUILD)/f64/src/cli/entry.o,$(CLI_SRC:%.c=$(BUILD)/f64/%.o))
OBJCOPY     ?= objcopy
NM          ?= nm

.PHONY: all test check check-fast check-sanitize install uninstall clean bench tests print-libs format format-check
all: $(BIN) $(BUILD)/liblrp.a $(BUILD)/liblrp.so

$(BUILD)/gen/onnx.pb-c.c $(BUILD)/gen/onnx.pb-c.h: $(ONNX_PROTO)
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen -I$(dir $(ONNX_PROTO)) $(ONNX_PROTO)

$(BUILD)/gen/onnx.pb-c.o: $(BUILD)/gen/onnx.pb-c.c
	$(CC) $(filter-out $(WARN),$(ALL_CFLAGS)) -w -c $< -o $@

$(BUILD)/%.o: %.c $(BUILD)/gen/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/f64/%.o: %.c $(BUILD)/gen/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DLRP_REAL_DOUBLE -fvisibility=hidden -MMD -MP -c $< -o $@
$(F64_LIB_OBJ) $(F64_CLI_OBJ): Makefile

$(BUILD)/f64/symbols: $(F64_LIB_OBJ) $(F64_CLI_OBJ)
	$(NM) -g --defined-only $^ | awk 'NF == 3 { print $$3, $$3 "_f64" }' | sort -u > $@

$(BUILD)/f64/lib.o: $(F64_LIB_OBJ) $(BUILD)/f64/symbols
	$(CC) -r -nostdlib -o $@.tmp $(F64_LIB_OBJ)
	$(OBJCOPY) --redefine-syms=$(BUILD)/f64/symbols $@.tmp $@
	rm -f $@.tmp

$(BUILD)/f64/cli.o: $(F64_CLI_OBJ) $(BUILD)/f64/symbols
	$(CC) -r -nostdlib -o $@.tmp $(F64_CLI_OBJ)
	$(OBJCOPY) --redefine-syms=$(BUILD)/f64/symbols $@.tmp $@
	rm -f $@.tmp

$(BUILD)/liblrp64.a: $(BUILD)/f64/lib.o
	rm -f $@
	ar rcs $@ $^

# liblrp.so exports what the public headers (PUB_HDR, installed) declare with
# LRP_API and nothing else: the library's objects hide every other symbol
# (liblrp.a keeps them visible to the unit tests and the CLI). They are
# rebuilt when the Makefile, which holds their flags, changes.
$(LIB_OBJ): ALL_CFLAGS += -fvisibility=hidden
$(LIB_OBJ): Makefile

$(BUILD)/liblrp.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/liblrp.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,liblrp.so.0 -o $@ $^ $(LDLIBS)

$(BIN): $(CLI_OBJ) $(BUILD)/f64/cli.o $(BUILD)/f64/lib.o $(BUILD)/liblrp.a
	$(CC) -o $@ $(CLI_OBJ) $(BUILD)/f64/cli.o $(BUILD)/f64/lib.o $(BUILD)/liblrp.a $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(TEST_HELPER_OBJ) $(BUILD)/liblrp.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -MMD -MP -MF $@.d -o $@ $< $(TEST_HELPER_OBJ) $(BUILD)/liblrp.a $(LDLIBS) -lcmocka

# test_refset and test_refset_modern also run every case in the float64 build (lrp's float32 error
# against its own float64): the test helpers are compiled once more for the
# float64 half, their symbols renamed as its own.
TEST_HELPER_F64 := $(TEST_HELPERS:tests/unit/%.c=$(BUILD)/tests/f64/%.o)
$(BUILD)/tests/f64/symbols: $(TEST_HELPER_OBJ) $(BUILD)/f64/symbols
	@mkdir -p $(dir $@)
	{ cat $(BUILD)/f64/symbols; $(NM) -g --defined-only $(TEST_HELPER_OBJ) | awk 'NF == 3 { print $$3, $$3 "_f64" }'; } | \
	    sort -u > $@
$(BUILD)/tests/f64/%.o: tests/unit/%.c $(BUILD)/tests/f64/symbols
	$(CC) $(ALL_CFLAGS) -DLRP_REAL_DOUBLE -Itests/unit -MMD -MP -c $< -o $@.tmp
	$(OBJCOPY) --redefine-syms=$(BUILD)/tests/f64/symbols $@.tmp $@
	rm -f $@.tmp

F64_TESTS := $(BUILD)/tests/test_refset $(BUILD)/tests/test_refset_modern $(BUILD)/tests/test_refset_order2
$(F64_TESTS): $(BUILD)/tests/%: tests/unit/%.c $(TEST_HELPER_OBJ) $(TEST_HELPER_F64) $(BUILD)/liblrp64.a \
              $(BUILD)/liblrp.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -MMD -MP -MF $@.d -o $@ $< $(TEST_HELPER_OBJ) $(TEST_HELPER_F64) $(BUILD)/liblrp64.a \
	    $(BUILD)/liblrp.a $(LDLIBS) -lcmocka

tests: $(TEST_BIN) $(BIN)

# Day to day: the unit and command-line tests once, on the normal build (no
# sanitizer or valgrind legs).
test: check-fast

# The whole suite: see tests/run-all.
check:
	tests/run-all

# Unit and command-line tests of one build (used by tests/run-all).
check-fast: tests
	tests/run-suite $(BUILD) $(BIN)

bench: all
	bench/run

# Formatting (clang-format 14, Debian package clang-format): the sources of
# the library, the CLI, the public header, the unit tests, the fuzzers and
# the benchmark; generated code (build/gen) is not checked.
CLANG_FORMAT ?= clang-format
FORMAT_SRC := $(sort $(wildcard src/*.[ch] src/*/*.[ch] src/*/*/*.[ch] include/*.h tests/unit/*.[ch] fuzz/*.[ch] \
                                bench/*.c))
format-check:
	@$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRC) && echo "format-check: $(words $(FORMAT_SRC)) files as .clang-format writes them"

format:
	$(CLANG_FORMAT) -i $(FORMAT_SRC)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
	    $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/lrp
	install -m 644 $(BUILD)/liblrp.a $(DESTDIR)$(PREFIX)/lib/liblrp.a
	install -m 755 $(BUILD)/liblrp.so $(DESTDIR)$(PREFIX)/lib/liblrp.so.0
	ln -sf liblrp.so.0 $(DESTDIR)$(PREFIX)/lib/liblrp.so
	install -m 644 $(PUB_HDR) $(DESTDIR)$(PREFIX)/include/
	install -m 644 man/lrp.1 $(DESTDIR)$(PREFIX)/share/man/man1/lrp.1
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@OPENBLAS_DIR@|$(OPENBLAS_DIR)|g' -e 's|@VERSION@|$(shell sed -n 's/^#define LRP_VERSION "\(.*\)"/\1/p' include/lrp.h)|g' \
	    lrp.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/lrp.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/lrp $(DESTDIR)$(PREFIX)/lib/liblrp.a $(DESTDIR)$(PREFIX)/lib/liblrp.so* \
	    $(PUB_HDR:include/%=$(DESTDIR)$(PREFIX)/include/%) $(DESTDIR)$(PREFIX)/share/man/man1/lrp.1 \
	    $(DESTDIR)$(PREFIX)/lib/pkgconfig/lrp.pc

clean:
	rm -rf build build-* lrp

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(F64_LIB_OBJ:.o=.d) $(F64_CLI_OBJ:.o=.d)
# the tests too: a changed header rebuilds their helpers and programs (a stale struct layout in a helper
# object would otherwise meet the library's new one)
-include $(TEST_HELPER_OBJ:.o=.d) $(TEST_HELPER_F64:.o=.d) $(TEST_BIN:=.d)

# For bench/run: the link flags.
print-libs:
	@echo $(LDLIBS)

-include fuzz/fuzz.mk
