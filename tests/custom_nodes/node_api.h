/* Our own declarations of OVMS's custom node C API (interface facts from OVMS's
 * docs/custom_node_development.md), plus a counting allocator shared by the test libraries:
 * every buffer handed to the caller is counted, every release() is counted, and the test reads
 * both through the extra exported functions cn_allocated() and cn_released(). */
#ifndef OVTRITON_TEST_NODE_API_H
#define OVTRITON_TEST_NODE_API_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

typedef enum { P_UNSPECIFIED, P_FP32, P_FP16, P_U8, P_I8, P_I16, P_U16, P_I32, P_FP64, P_I64 } precision_t;

typedef struct {
    const char *name;
    uint8_t *data;
    uint64_t data_bytes;
    uint64_t *dims;
    uint64_t dims_count;
    precision_t precision;
} tensor_t;

typedef struct {
    const char *name;
    uint64_t *dims;
    uint64_t dims_count;
    precision_t precision;
} tensor_info_t;

typedef struct {
    const char *key;
    const char *value;
} param_t;

static long allocated_count = 0;
static long released_count = 0;

EXPORT long cn_allocated(void) { return __atomic_load_n(&allocated_count, __ATOMIC_SEQ_CST); }
EXPORT long cn_released(void) { return __atomic_load_n(&released_count, __ATOMIC_SEQ_CST); }

/* A buffer for the caller, counted. */
static inline void *give(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (p) __atomic_add_fetch(&allocated_count, 1, __ATOMIC_SEQ_CST);
    return p;
}

#ifndef NO_RELEASE
EXPORT int release(void *ptr, void *manager) {
    (void)manager;
    __atomic_add_fetch(&released_count, 1, __ATOMIC_SEQ_CST);
    free(ptr);
    return 0;
}
#endif

static inline const char *param(const param_t *params, int count, const char *key) {
    for (int i = 0; i < count; i++)
        if (strcmp(params[i].key, key) == 0) return params[i].value;
    return NULL;
}

static inline const tensor_t *input(const tensor_t *inputs, int count, const char *name) {
    for (int i = 0; i < count; i++)
        if (strcmp(inputs[i].name, name) == 0) return &inputs[i];
    return NULL;
}

static inline uint64_t *dims_of(int count, const uint64_t *values) {
    uint64_t *dims = give(sizeof(uint64_t) * (count ? count : 1));
    memcpy(dims, values, sizeof(uint64_t) * count);
    return dims;
}

/* One info entry (dims copied into a counted buffer). */
static inline void set_info(tensor_info_t *info, const char *name, precision_t precision, int count,
                     const uint64_t *dims) {
    info->name = name;
    info->precision = precision;
    info->dims_count = count;
    info->dims = dims_of(count, dims);
}

static inline int one_info(tensor_info_t **info, int *count, const char *name, precision_t precision,
                    int dims_count, const uint64_t *dims) {
    *count = 1;
    *info = give(sizeof(tensor_info_t));
    set_info(*info, name, precision, dims_count, dims);
    return 0;
}

#endif
