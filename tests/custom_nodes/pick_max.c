/* scores (FP32, declared [?, ?], read flat, at least one element) -> max [1] (FP32) and
 * index [1] (I64):
 * the largest value and its flat position (the first one on ties). */
#include "node_api.h"

EXPORT int initialize(void **manager, const param_t *params, int count) { return 0; }
EXPORT int deinitialize(void *manager) { return 0; }

EXPORT int execute(const tensor_t *inputs, int inputs_count, tensor_t **outputs, int *outputs_count,
                   const param_t *params, int params_count, void *manager) {
    const tensor_t *in = input(inputs, inputs_count, "scores");
    if (in == NULL || in->precision != P_FP32 || in->data_bytes < sizeof(float)) return 1;
    const float *v = (const float *)in->data;
    int64_t best = 0;
    for (uint64_t i = 1; i < in->data_bytes / sizeof(float); i++)
        if (v[i] > v[best]) best = (int64_t)i;
    const uint64_t one[] = {1};
    tensor_t *out = give(2 * sizeof(tensor_t));
    out[0] = (tensor_t){"max", give(sizeof(float)), sizeof(float), dims_of(1, one), 1, P_FP32};
    *(float *)out[0].data = v[best];
    out[1] = (tensor_t){"index", give(sizeof(int64_t)), sizeof(int64_t), dims_of(1, one), 1, P_I64};
    *(int64_t *)out[1].data = best;
    *outputs = out;
    *outputs_count = 2;
    return 0;
}

EXPORT int getInputsInfo(tensor_info_t **info, int *count, const param_t *params, int params_count,
                         void *manager) {
    const uint64_t dims[] = {0, 0};  /* e.g. gathered [N, 1] scores; any shape is read flat */
    return one_info(info, count, "scores", P_FP32, 2, dims);
}

EXPORT int getOutputsInfo(tensor_info_t **info, int *count, const param_t *params, int params_count,
                          void *manager) {
    const uint64_t one[] = {1};
    *count = 2;
    *info = give(2 * sizeof(tensor_info_t));
    set_info(&(*info)[0], "max", P_FP32, 1, one);
    set_info(&(*info)[1], "index", P_I64, 1, one);
    return 0;
}
