/* A library that blocks at load: initialize never returns. */
#include "node_api.h"
#include <unistd.h>

EXPORT int initialize(void **manager, const param_t *params, int count) {
    for (;;) pause();
    return 0;
}
EXPORT int deinitialize(void *manager) { return 0; }
EXPORT int execute(const tensor_t *inputs, int inputs_count, tensor_t **outputs, int *outputs_count,
                   const param_t *params, int params_count, void *manager) {
    return 1;
}
EXPORT int getInputsInfo(tensor_info_t **info, int *count, const param_t *params, int params_count,
                         void *manager) {
    const uint64_t dims[] = {1};
    return one_info(info, count, "x", P_FP32, 1, dims);
}
EXPORT int getOutputsInfo(tensor_info_t **info, int *count, const param_t *params, int params_count,
                          void *manager) {
    const uint64_t dims[] = {1};
    return one_info(info, count, "y", P_FP32, 1, dims);
}
