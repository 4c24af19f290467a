/* col2im for channels-last maps: the input gradient of a convolution run as a matrix
 * product over gathered windows (glcic/models/discriminators.py, conv2d_as_matmul).
 *
 * cols: (n, ho, wo, k, k, c) gradients of every window, bfloat16 (dtype 1) or float32 (0);
 * out:  (n, h, w, c) in the same dtype: out[b, y, x] = sum over the windows and taps that
 *       read input pixel (y, x) (stride s, zero padding p), summed in float32 and rounded
 *       once. Parallel over images with OpenMP (torch's runtime), `threads` threads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#include "bf16.h"

static inline void store(void *p, int64_t i, float f, int dtype) {
    if (dtype)
        ((uint16_t *)p)[i] = f32_to_bf16(f);
    else
        ((float *)p)[i] = f;
}

/* Nonzero return: out of memory. */
int col2im_nhwc(const void *cols, void *out, int dtype, int64_t n, int64_t h, int64_t w, int64_t c,
                int64_t ho, int64_t wo, int64_t k, int64_t s, int64_t p, int threads) {
    int nt = threads < 1 ? 1 : threads;
    int64_t hp = h + 2 * p, wp = w + 2 * p;
    float *acc = malloc((size_t)(nt * hp * wp * c) * sizeof(float));
    if (!acc) return 1;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t b = 0; b < n; b++) {
        float *restrict a = acc + (size_t)omp_get_thread_num() * hp * wp * c;  /* padded, float32 */
        memset(a, 0, (size_t)(hp * wp * c) * sizeof(float));
        for (int64_t oy = 0; oy < ho; oy++)
            for (int64_t ox = 0; ox < wo; ox++)
                for (int64_t i = 0; i < k; i++)
                    for (int64_t j = 0; j < k; j++) {
                        int64_t src = ((((b * ho + oy) * wo + ox) * k + i) * k + j) * c;
                        float *restrict dst = a + ((s * oy + i) * wp + (s * ox + j)) * c;
                        if (dtype) {
                            const uint16_t *restrict g = (const uint16_t *)cols + src;
                            for (int64_t ch = 0; ch < c; ch++) dst[ch] += bf16_to_f32(g[ch]);
                        } else {
                            const float *restrict g = (const float *)cols + src;
                            for (int64_t ch = 0; ch < c; ch++) dst[ch] += g[ch];
                        }
                    }
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                const float *row = a + ((y + p) * wp + (x + p)) * c;
                int64_t o = ((b * h + y) * w + x) * c;
                for (int64_t ch = 0; ch < c; ch++) store(out, o + ch, row[ch], dtype);
            }
    }
    free(acc);
    return 0;
}
