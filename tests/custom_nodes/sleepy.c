/* y = x (FP32, dims [1, 4]); execute sleeps for good when x[0] is negative and crashes
 * (SIGSEGV) when x[0] is 1000 or more: a node that hangs or crashes on some requests only. */
#include "node_api.h"
#include <signal.h>
#include <unistd.h>

EXPORT int initialize(void **manager, const param_t *params, int count) { return 0; }
EXPORT int deinitialize(void *manager) { return 0; }

EXPORT int execute(const tensor_t *inputs, int inputs_count, tensor_t **outputs, int *outputs_count,
                   const param_t *params, int params_count, void *manager) {
    const tensor_t *x = input(inputs, inputs_count, "x");
    if (!x || x->data_bytes < sizeof(float)) return 1;
    if (((const float *)x->data)[0] < 0)
        for (;;) pause();
    if (((const float *)x->data)[0] >= 1000) raise(SIGSEGV);
    tensor_t *out = give(sizeof(tensor_t));
    out[0] = *x;
    out[0].name = "y";
    out[0].data = give(x->data_bytes);
    memcpy(out[0].data, x->data, x->data_bytes);
    out[0].dims = dims_of(x->dims_count, x->dims);
    *outputs = out;
    *outputs_count = 1;
    return 0;
}

EXPORT int getInputsInfo(tensor_info_t **info, int *count, const param_t *params, int params_count,
                         void *manager) {
    const uint64_t dims[] = {1, 4};
    return one_info(info, count, "x", P_FP32, 2, dims);
}

EXPORT int getOutputsInfo(tensor_info_t **info, int *count, const param_t *params, int params_count,
                          void *manager) {
    const uint64_t dims[] = {1, 4};
    return one_info(info, count, "y", P_FP32, 2, dims);
}
