/* A library that fails on purpose: initialize returns 3 when the library param "fail_init" is
 * set, execute always returns 7 without handing out any memory, and the info calls return 5
 * when the node param "fail_info" is set. */
#include "node_api.h"

EXPORT int initialize(void **manager, const param_t *params, int count) {
    return param(params, count, "fail_init") ? 3 : 0;
}
EXPORT int deinitialize(void *manager) { return 0; }

EXPORT int execute(const tensor_t *inputs, int inputs_count, tensor_t **outputs, int *outputs_count,
                   const param_t *params, int params_count, void *manager) {
    return 7;
}

EXPORT int getInputsInfo(tensor_info_t **info, int *count, const param_t *params, int params_count,
                         void *manager) {
    if (param(params, params_count, "fail_info")) return 5;
    const uint64_t dims[] = {1};
    return one_info(info, count, "x", P_FP32, 1, dims);
}

EXPORT int getOutputsInfo(tensor_info_t **info, int *count, const param_t *params, int params_count,
                          void *manager) {
    if (param(params, params_count, "fail_info")) return 5;
    const uint64_t dims[] = {1};
    return one_info(info, count, "y", P_FP32, 1, dims);
}
