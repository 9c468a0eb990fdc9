/* image [H, W] (FP32) -> tiles [N, 1, H, W/N]: N vertical strips, N from the node param "tiles"
 * (may be 0); the output's first dimension is dynamic, for a demultiplexer with
 * demultiply_count -1. A second output "offsets" [N, 1, 1] (I32) holds each strip's first
 * column. */
#include "node_api.h"

EXPORT int initialize(void **manager, const param_t *params, int count) { return 0; }
EXPORT int deinitialize(void *manager) { return 0; }

EXPORT int execute(const tensor_t *inputs, int inputs_count, tensor_t **outputs, int *outputs_count,
                   const param_t *params, int params_count, void *manager) {
    const tensor_t *in = input(inputs, inputs_count, "image");
    const char *tiles_param = param(params, params_count, "tiles");
    if (in == NULL || tiles_param == NULL || in->dims_count != 2 || in->precision != P_FP32) return 1;
    uint64_t n = strtoull(tiles_param, NULL, 10), h = in->dims[0], w = in->dims[1];
    if (n != 0 && w % n != 0) return 2;
    uint64_t tw = n ? w / n : 0;
    tensor_t *out = give(2 * sizeof(tensor_t));
    const uint64_t tile_dims[] = {n, 1, h, tw}, offset_dims[] = {n, 1, 1};
    out[0].name = "tiles";
    out[0].precision = P_FP32;
    out[0].dims_count = 4;
    out[0].dims = dims_of(4, tile_dims);
    out[0].data_bytes = n * h * tw * sizeof(float);
    out[0].data = give(out[0].data_bytes);
    out[1].name = "offsets";
    out[1].precision = P_I32;
    out[1].dims_count = 3;
    out[1].dims = dims_of(3, offset_dims);
    out[1].data_bytes = n * sizeof(int32_t);
    out[1].data = give(out[1].data_bytes);
    const float *src = (const float *)in->data;
    float *dst = (float *)out[0].data;
    for (uint64_t t = 0; t < n; t++) {
        ((int32_t *)out[1].data)[t] = (int32_t)(t * tw);
        for (uint64_t y = 0; y < h; y++)
            for (uint64_t x = 0; x < tw; x++) dst[(t * h + y) * tw + x] = src[y * w + t * tw + x];
    }
    *outputs = out;
    *outputs_count = 2;
    return 0;
}

EXPORT int getInputsInfo(tensor_info_t **info, int *count, const param_t *params, int params_count,
                         void *manager) {
    const uint64_t dims[] = {0, 0};
    return one_info(info, count, "image", P_FP32, 2, dims);
}

EXPORT int getOutputsInfo(tensor_info_t **info, int *count, const param_t *params, int params_count,
                          void *manager) {
    const uint64_t tile_dims[] = {0, 1, 0, 0}, offset_dims[] = {0, 1, 1};
    *count = 2;
    *info = give(2 * sizeof(tensor_info_t));
    set_info(&(*info)[0], "tiles", P_FP32, 4, tile_dims);
    set_info(&(*info)[1], "offsets", P_I32, 3, offset_dims);
    return 0;
}
