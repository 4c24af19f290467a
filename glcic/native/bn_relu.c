/* Batch norm (training mode) followed by ReLU, forward and backward, in two passes each.
 *
 * The maps are channels-last: `rows` = N*H*W rows of `c` contiguous channels, in bfloat16
 * (dtype 1) or float32 (dtype 0). Per-channel values are float32, sums float64.
 * Forward:  mean, var = batch statistics of x;  a = weight / sqrt(var + eps);
 *           b = bias - mean * a;  y = max(0, x * a + b).
 * Backward: g = dy where x * a + b > 0 (the ReLU's mask, recomputed from x), else 0;
 *           sums of g and of g (x - mean), from which the caller forms
 *           dx = a g - q x + s with per-channel q and s.
 * Parallel over rows with OpenMP (the runtime torch itself has loaded), `threads` threads.
 * Built and loaded by glcic/native/__init__.py; glcic/models/fused.py calls it.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

static inline float load_f32(const float *p, int64_t i) { return p[i]; }
static inline void store_f32(float *p, int64_t i, float v) { p[i] = v; }

static inline float load_bf16(const uint16_t *p, int64_t i) {
    uint32_t u = (uint32_t)p[i] << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline void store_bf16(uint16_t *p, int64_t i, float f) {  /* round to nearest even, as torch */
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    p[i] = f != f ? (uint16_t)0x7fc0 : (uint16_t)r;
}

/* Rows are summed in float32 in blocks of BLOCK rows, the blocks in float64. */
#define BLOCK 64

/* Thread t's share [r0, r1) of the rows, and its float64 partial sums: sum into s, sum2 into q. */
#define SUM_OVER_ROWS(BODY)                                                                  \
    int nt = threads < 1 ? 1 : threads;                                                      \
    double *part = calloc((size_t)nt * 2 * c, sizeof(double));                               \
    float *blk = malloc((size_t)nt * 2 * c * sizeof(float));                                 \
    if (!part || !blk) {                                                                     \
        free(part);                                                                          \
        free(blk);                                                                           \
        return 1;                                                                            \
    }                                                                                        \
    _Pragma("omp parallel num_threads(nt)") {                                                \
        int t = omp_get_thread_num(), n = omp_get_num_threads();                             \
        int64_t r0 = rows * t / n, r1 = rows * (t + 1) / n;                                  \
        double *restrict ps = part + (size_t)t * 2 * c, *restrict pq = ps + c;               \
        float *restrict fs = blk + (size_t)t * 2 * c, *restrict fq = fs + c;                 \
        for (int64_t rb = r0; rb < r1; rb += BLOCK) {                                        \
            int64_t re = rb + BLOCK < r1 ? rb + BLOCK : r1;                                  \
            for (int64_t j = 0; j < c; j++) fs[j] = fq[j] = 0.f;                             \
            for (int64_t r = rb; r < re; r++) {                                              \
                int64_t o = r * c;                                                           \
                for (int64_t j = 0; j < c; j++) { BODY }                                     \
            }                                                                                \
            for (int64_t j = 0; j < c; j++) {                                                \
                ps[j] += fs[j];                                                              \
                pq[j] += fq[j];                                                              \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
    for (int64_t j = 0; j < c; j++) {                                                        \
        double s = 0, q = 0;                                                                 \
        for (int t = 0; t < nt; t++) {                                                       \
            s += part[(size_t)t * 2 * c + j];                                                \
            q += part[(size_t)t * 2 * c + c + j];                                            \
        }                                                                                    \
        sum[j] = s;                                                                          \
        sum2[j] = q;                                                                         \
    }                                                                                        \
    free(part);                                                                              \
    free(blk);                                                                               \
    return 0;

#define KERNELS(SUF, T)                                                                      \
    /* sum: of x - shift; sum2: of (x - shift)^2 (shift: a sample row, against cancellation) */ \
    static int stats_##SUF(const T *restrict x, int64_t rows, int64_t c,                     \
                           const float *restrict shift, double *sum, double *sum2, int threads) { \
        SUM_OVER_ROWS(float v = load_##SUF(x, o + j) - shift[j]; fs[j] += v; fq[j] += v * v;) \
    }                                                                                        \
    static void apply_##SUF(const T *restrict x, T *restrict y, int64_t rows, int64_t c,     \
                            const float *restrict a, const float *restrict b, int threads) { \
        int nt = threads < 1 ? 1 : threads;                                                  \
        _Pragma("omp parallel for num_threads(nt) schedule(static)")                         \
        for (int64_t r = 0; r < rows; r++) {                                                 \
            int64_t o = r * c;                                                               \
            for (int64_t j = 0; j < c; j++) {                                                \
                float v = load_##SUF(x, o + j) * a[j] + b[j];                                \
                store_##SUF(y, o + j, v > 0.f ? v : 0.f);                                    \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
    /* sum: of g; sum2: of g (x - mean) */                                                   \
    static int grad_sums_##SUF(const T *restrict x, const T *restrict dy, int64_t rows,      \
                               int64_t c, const float *restrict a, const float *restrict b,  \
                               const float *restrict mean, double *sum, double *sum2,        \
                               int threads) {                                                \
        SUM_OVER_ROWS(float xv = load_##SUF(x, o + j);                                       \
                      float g = xv * a[j] + b[j] > 0.f ? load_##SUF(dy, o + j) : 0.f;        \
                      fs[j] += g; fq[j] += g * (xv - mean[j]);)                              \
    }                                                                                        \
    static void grad_input_##SUF(const T *restrict x, const T *restrict dy, T *restrict dx,  \
                                 int64_t rows, int64_t c, const float *restrict a,           \
                                 const float *restrict b, const float *restrict q,           \
                                 const float *restrict s, int threads) {                     \
        int nt = threads < 1 ? 1 : threads;                                                  \
        _Pragma("omp parallel for num_threads(nt) schedule(static)")                         \
        for (int64_t r = 0; r < rows; r++) {                                                 \
            int64_t o = r * c;                                                               \
            for (int64_t j = 0; j < c; j++) {                                                \
                float xv = load_##SUF(x, o + j);                                             \
                float g = xv * a[j] + b[j] > 0.f ? load_##SUF(dy, o + j) : 0.f;              \
                store_##SUF(dx, o + j, a[j] * g - q[j] * xv + s[j]);                         \
            }                                                                                \
        }                                                                                    \
    }

KERNELS(f32, float)
KERNELS(bf16, uint16_t)

/* The exported entry points: dtype 1 = bfloat16, 0 = float32. Nonzero return: out of memory. */

/* Forward: y = max(0, bn(x)); saved = (mean, invstd, a, b), 4 x c floats; the running
 * statistics move by `factor` towards the batch's (the variance unbiased), as BatchNorm2d. */
int bn_relu_forward(const void *x, void *y, int dtype, int64_t rows, int64_t c, const float *weight,
                    const float *bias, double eps, double factor, float *running_mean,
                    float *running_var, float *saved, int threads) {
    double *sum = malloc(2 * c * sizeof(double)), *sum2 = sum ? sum + c : NULL;
    float *shift = malloc(c * sizeof(float));
    int err = !sum || !shift;
    if (!err) {
        for (int64_t j = 0; j < c; j++)  /* the first row, against cancellation */
            shift[j] = dtype ? load_bf16(x, j) : load_f32(x, j);
        err = dtype ? stats_bf16(x, rows, c, shift, sum, sum2, threads)
                    : stats_f32(x, rows, c, shift, sum, sum2, threads);
    }
    if (!err) {
        float *mean = saved, *invstd = saved + c, *a = saved + 2 * c, *b = saved + 3 * c;
        for (int64_t j = 0; j < c; j++) {
            double m = sum[j] / rows, var = sum2[j] / rows - m * m;
            var = var > 0 ? var : 0;
            double mu = m + shift[j], is = 1.0 / sqrt(var + eps);
            mean[j] = (float)mu;
            invstd[j] = (float)is;
            a[j] = (float)(weight[j] * is);
            b[j] = (float)(bias[j] - mu * weight[j] * is);
            running_mean[j] = (float)((1 - factor) * running_mean[j] + factor * mu);
            running_var[j] = (float)((1 - factor) * running_var[j] + factor * var * rows / (rows - 1));
        }
        if (dtype)
            apply_bf16(x, y, rows, c, a, b, threads);
        else
            apply_f32(x, y, rows, c, a, b, threads);
    }
    free(sum);
    free(shift);
    return err;
}

/* Backward, from the forward's `saved`: grads = (dweight, dbias), 2 x c floats; dx unless NULL. */
int bn_relu_backward(const void *x, const void *dy, void *dx, int dtype, int64_t rows, int64_t c,
                     const float *saved, float *grads, int threads) {
    const float *mean = saved, *invstd = saved + c, *a = saved + 2 * c, *b = saved + 3 * c;
    double *sum = malloc(2 * c * sizeof(double)), *sum2 = sum ? sum + c : NULL;
    float *q = malloc(2 * c * sizeof(float)), *s = q ? q + c : NULL;
    int err = !sum || !q;
    if (!err)
        err = dtype ? grad_sums_bf16(x, dy, rows, c, a, b, mean, sum, sum2, threads)
                    : grad_sums_f32(x, dy, rows, c, a, b, mean, sum, sum2, threads);
    if (!err) {
        for (int64_t j = 0; j < c; j++) {
            double dw = sum2[j] * invstd[j];
            grads[j] = (float)dw;
            grads[c + j] = (float)sum[j];
            /* dx = a (g - sum g / n - (x - mean) invstd dweight / n) = a g - q x + s */
            double qj = (double)a[j] * invstd[j] * dw / rows;
            q[j] = (float)qj;
            s[j] = (float)(qj * mean[j] - (double)a[j] * sum[j] / rows);
        }
        if (dx && dtype)
            grad_input_bf16(x, dy, dx, rows, c, a, b, q, s, threads);
        else if (dx)
            grad_input_f32(x, dy, dx, rows, c, a, b, q, s, threads);
    }
    free(sum);
    free(q);
    return err;
}
