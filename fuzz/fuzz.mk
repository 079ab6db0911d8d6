# Coverage-guided fuzzing (see fuzz/README.md). Included by the Makefile.
#
#   make fuzz       the libFuzzer harnesses, build-fuzz/fuzz_NAME (clang,
#                   ASan + UBSan, the library built into build-fuzz/)
#   fuzz/run-short  builds them, assembles the seed corpora and runs each one
#                   for a short while
#
# The normal build also makes $(BUILD)/fuzz/replay_NAME: the same harness
# with a plain main() that runs the files it is given, for the regression
# test of fuzz/regress/ (tests/shell/test_fuzz_regress.sh).

FUZZ_NAMES := onnx npy png jpeg cmap rule template list labels
FUZZ_DIR   := build-fuzz
FUZZ_CC    := clang
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_TESTDATA_DEF := -DFUZZ_TESTDATA='"$(CURDIR)/testdata"'
FUZZ_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O1 -g $(WARN) -Wno-unknown-pragmas \
               -Iinclude -Isrc -I$(FUZZ_DIR)/gen $(PKG_CFLAGS) $(FUZZ_SAN)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_DIR)/%.o) $(FUZZ_DIR)/gen/onnx.pb-c.o
FUZZ_BIN   := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
# harnesses that also need CLI sources
FUZZ_CLI_template := src/cli/items.o src/cli/outputs.o src/cli/metadata.o src/cli/exif.o
FUZZ_CLI_list     := src/cli/items.o src/cli/outputs.o src/cli/metadata.o src/cli/exif.o
FUZZ_CLI_jpeg     := src/cli/exif.o
FUZZ_CLI_labels   := src/cli/labels.o

.PHONY: fuzz
fuzz: $(FUZZ_BIN)

$(FUZZ_DIR)/gen/onnx.pb-c.c $(FUZZ_DIR)/gen/onnx.pb-c.h: $(ONNX_PROTO)
	@mkdir -p $(FUZZ_DIR)/gen
	protoc-c --c_out=$(FUZZ_DIR)/gen -I$(dir $(ONNX_PROTO)) $(ONNX_PROTO)

$(FUZZ_DIR)/gen/onnx.pb-c.o: $(FUZZ_DIR)/gen/onnx.pb-c.c
	$(FUZZ_CC) $(filter-out $(WARN),$(FUZZ_CFLAGS)) -fsanitize=fuzzer-no-link -w -c $< -o $@

# (without -fopenmp, the variables only OpenMP's if() clauses use look unused)
$(FUZZ_DIR)/src/%.o: src/%.c $(FUZZ_DIR)/gen/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Wno-unused-variable -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_DIR)/fuzz_%.o: fuzz/fuzz_%.c fuzz/fuzz_util.h $(FUZZ_DIR)/gen/onnx.pb-c.h
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_TESTDATA_DEF) -fsanitize=fuzzer-no-link -c $< -o $@

.SECONDEXPANSION:
$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/fuzz_%.o $$(addprefix $(FUZZ_DIR)/,$$(FUZZ_CLI_$$*)) $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) -lm

# plain replay programs, part of the normal build's tests
FUZZ_REPLAY := $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
tests: $(FUZZ_REPLAY)

$(BUILD)/fuzz/replay_%: fuzz/fuzz_%.c fuzz/replay_main.c fuzz/fuzz_util.h $$(addprefix $(BUILD)/,$$(FUZZ_CLI_$$*)) \
                        $(BUILD)/liblrp.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(FUZZ_TESTDATA_DEF) -o $@ $(filter %.c %.o %.a,$^) $(LDLIBS)

-include $(FUZZ_LIB_OBJ:.o=.d)

# tiny ONNX models for the seed corpus (fuzz/seeds.sh)
$(FUZZ_DIR)/onnx_seeds: fuzz/onnx_seeds.c $(FUZZ_DIR)/gen/onnx.pb-c.c
	$(CC) -std=c11 -O1 $(WARN) -I$(FUZZ_DIR)/gen $(PKG_CFLAGS) -o $@ $< $(FUZZ_DIR)/gen/onnx.pb-c.c $(PKG_LIBS)
