/* A library whose load-time code crashes: its constructor raises SIGSEGV as soon as the
 * library is loaded (dlopen), before any function of the API is called. */
#include "node_api.h"
#include <signal.h>

__attribute__((constructor)) static void crash_on_load(void) { raise(SIGSEGV); }

EXPORT int initialize(void **manager, const param_t *params, int count) { return 0; }
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
