/* Every input comes back as an output of the same name, precision, shape and bytes: the
 * round trip of every precision of the API. Node params: "sleep_ms" sleeps in execute
 * (overlap tests), "corrupt" = "bytes" reports one byte too few for the first output,
 * "corrupt" = "precision" returns it as UNSPECIFIED, "rank" = N declares N dynamic dims in the
 * info calls (default 1). Build with -DNO_RELEASE for a library that
 * lacks release(). */
#include "node_api.h"
#include <time.h>

EXPORT int initialize(void **manager, const param_t *params, int count) { return 0; }
EXPORT int deinitialize(void *manager) { return 0; }

EXPORT int execute(const tensor_t *inputs, int inputs_count, tensor_t **outputs, int *outputs_count,
                   const param_t *params, int params_count, void *manager) {
    const char *sleep_ms = param(params, params_count, "sleep_ms");
    if (sleep_ms) {
        long ms = strtol(sleep_ms, NULL, 10);
        struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&t, NULL);
    }
    tensor_t *out = give(sizeof(tensor_t) * (inputs_count ? inputs_count : 1));
    for (int i = 0; i < inputs_count; i++) {
        out[i] = inputs[i];
        out[i].data = give(inputs[i].data_bytes);
        memcpy(out[i].data, inputs[i].data, inputs[i].data_bytes);
        out[i].dims = dims_of(inputs[i].dims_count, inputs[i].dims);
    }
    const char *corrupt = param(params, params_count, "corrupt");
    if (corrupt && inputs_count > 0 && strcmp(corrupt, "bytes") == 0) out[0].data_bytes -= 1;
    if (corrupt && inputs_count > 0 && strcmp(corrupt, "precision") == 0)
        out[0].precision = P_UNSPECIFIED;
    *outputs = out;
    *outputs_count = inputs_count;
    return 0;
}

static int any_info(tensor_info_t **info, int *count, const param_t *params, int params_count) {
    const char *rank = param(params, params_count, "rank");
    int n = rank ? (int)strtol(rank, NULL, 10) : 1;
    const uint64_t dims[8] = {0};
    if (n < 1 || n > 8) return 1;
    return one_info(info, count, "any", P_UNSPECIFIED, n, dims);
}

EXPORT int getInputsInfo(tensor_info_t **info, int *count, const param_t *params, int params_count,
                         void *manager) {
    return any_info(info, count, params, params_count);
}

EXPORT int getOutputsInfo(tensor_info_t **info, int *count, const param_t *params, int params_count,
                          void *manager) {
    return any_info(info, count, params, params_count);
}
