/* out = in + constant + offset (FP32, any shape): initialize keeps the node param "offset" in
 * the internal manager, execute reads the node param "constant" (OVMS passes the node's params
 * to both). */
#include "node_api.h"
#include <stdio.h>

typedef struct { float offset; } manager_t;
static long deinitialized = 0;
EXPORT long cn_deinitialized(void) { return deinitialized; }

EXPORT int initialize(void **manager, const param_t *params, int count) {
    manager_t *m = malloc(sizeof(manager_t));
    const char *offset = param(params, count, "offset");
    m->offset = offset ? strtof(offset, NULL) : 0.0f;
    *manager = m;
    return 0;
}

EXPORT int deinitialize(void *manager) {
    free(manager);
    deinitialized++;
    return 0;
}

EXPORT int execute(const tensor_t *inputs, int inputs_count, tensor_t **outputs, int *outputs_count,
                   const param_t *params, int params_count, void *manager) {
    const tensor_t *in = input(inputs, inputs_count, "in");
    const char *constant = param(params, params_count, "constant");
    if (in == NULL || constant == NULL || in->precision != P_FP32) return 1;
    float add = strtof(constant, NULL) + ((manager_t *)manager)->offset;
    tensor_t *out = give(sizeof(tensor_t));
    out->name = "out";
    out->precision = P_FP32;
    out->data_bytes = in->data_bytes;
    out->data = give(in->data_bytes);
    out->dims_count = in->dims_count;
    out->dims = dims_of(in->dims_count, in->dims);
    const float *src = (const float *)in->data;
    float *dst = (float *)out->data;
    for (uint64_t i = 0; i < in->data_bytes / sizeof(float); i++) dst[i] = src[i] + add;
    *outputs = out;
    *outputs_count = 1;
    return 0;
}

EXPORT int getInputsInfo(tensor_info_t **info, int *count, const param_t *params, int params_count,
                         void *manager) {
    const uint64_t dims[] = {0, 3};
    return one_info(info, count, "in", P_FP32, 2, dims);
}

EXPORT int getOutputsInfo(tensor_info_t **info, int *count, const param_t *params, int params_count,
                          void *manager) {
    const uint64_t dims[] = {0, 3};
    return one_info(info, count, "out", P_FP32, 2, dims);
}
