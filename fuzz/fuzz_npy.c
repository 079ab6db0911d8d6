/* Fuzzes the .npy reader (lrp_npy_read) through a scratch file. */
#include "fuzz_util.h"

#include "lrp.h"

volatile unsigned fuzz_sink;

int LLVMFuzzerInitialize(int *argc, char ***argv) { return 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch(data, size, ".npy");
    lrp_tensor *t = NULL;
    lrp_error err = {0};
    lrp_status st = lrp_npy_read(path, &t, &err);
    if (st != LRP_OK) {
        fuzz_check_message(err.message);
        if (t)
            fuzz_fail("a tensor returned with an error");
        return 0;
    }
    /* touch every element: the tensor must hold numel values */
    if (t->dtype == LRP_REAL_DT)
        for (int64_t i = 0; i < t->numel; i++)
            fuzz_sink += ((const lrp_real *)t->data)[i] != 0;
    lrp_tensor_free(t);
    return 0;
}
