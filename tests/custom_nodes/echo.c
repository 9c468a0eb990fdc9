/* Every input comes back as an output of the same name, precision, shape and bytes: the
 * round trip of every precision of the API. Node params: "sleep_ms" sleeps in execute;
 * "entered_file" = PATH creates PATH once execute runs; "until_file" = PATH waits in execute
 * until PATH exists; "meet" = N waits until N executions are inside execute at once (arrivals
 * counted in groups of N). Both waits end after "give_up_ms" (default 30000) with execute
 * returning 9, so the
 * concurrency tests synchronise on events, never on the clock. "corrupt" = "bytes" reports
 * one byte too few for the first output, "corrupt" = "precision" returns it as UNSPECIFIED,
 * "rank" = N declares N dynamic dims in the info calls (default 1). Build with -DNO_RELEASE
 * for a library that lacks release(). */
#include "node_api.h"
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static long arrived = 0; /* executions that reached the "meet" point, ever */

static void nap_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Wait (1 ms naps, at most give_up_ms) until the file exists, or until the group of N executions
 * this one belongs to (arrivals 1..N, N+1..2N, ...) has all arrived. */
static int wait_for(const char *path, long meet, long give_up_ms) {
    long group_end = 0;
    if (meet > 0) {
        long ticket = __atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
        group_end = ((ticket - 1) / meet + 1) * meet;
    }
    for (long naps = 0; naps < give_up_ms; naps++) {
        if (path && access(path, F_OK) == 0) return 0;
        if (meet > 0 && __atomic_load_n(&arrived, __ATOMIC_SEQ_CST) >= group_end) return 0;
        nap_ms(1);
    }
    return 9;
}

EXPORT int initialize(void **manager, const param_t *params, int count) { return 0; }
EXPORT int deinitialize(void *manager) { return 0; }

EXPORT int execute(const tensor_t *inputs, int inputs_count, tensor_t **outputs, int *outputs_count,
                   const param_t *params, int params_count, void *manager) {
    const char *entered = param(params, params_count, "entered_file");
    if (entered) {
        FILE *mark = fopen(entered, "w");
        if (mark) fclose(mark);
    }
    const char *sleep_ms = param(params, params_count, "sleep_ms");
    if (sleep_ms) nap_ms(strtol(sleep_ms, NULL, 10));
    const char *until = param(params, params_count, "until_file");
    const char *meet = param(params, params_count, "meet");
    const char *give_up = param(params, params_count, "give_up_ms");
    long give_up_ms = give_up ? strtol(give_up, NULL, 10) : 30000;
    int waited = (until || meet) ? wait_for(until, meet ? strtol(meet, NULL, 10) : 0, give_up_ms) : 0;
    if (waited) return waited;
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
