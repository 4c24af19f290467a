/* Batch norm (training mode) followed by ReLU, forward and backward, in two passes each.
 *
 * The maps are channels-last: `rows` = N*H*W rows of `c` contiguous channels, in bfloat16
 * (dtype 1) or float32 (dtype 0). Per-channel values are float32, sums float64.
 * Forward:  mean, var = batch statistics of x;  a = weight / sqrt(var + eps);
 *           b = bias - mean * a;  y = max(0, x * a + b).
 * Backward: g = dy where x * a + b > 0 (the ReLU's mask, recomputed from x), else 0;
 *           sums of g and of g (x - mean), from which the caller forms
 *           dx = a g - q x + s with per-channel q and s.
 * Few channels: R rows at a time (see widen). Parallel over rows with OpenMP (the runtime
 * torch itself has loaded), `threads` threads.
 * Built and loaded by glcic/native/__init__.py; glcic/models/fused.py calls it.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#include "bf16.h"

static inline float load_f32(const float *p, int64_t i) { return p[i]; }
static inline void store_f32(float *p, int64_t i, float v) { p[i] = v; }

static inline float load_bf16(const uint16_t *p, int64_t i) { return bf16_to_f32(p[i]); }
static inline void store_bf16(uint16_t *p, int64_t i, float f) { p[i] = f32_to_bf16(f); }

/* Rows are summed in float32 in blocks of BLOCK rows, the blocks in float64. */
#define BLOCK 64

/* The threads' float64 partial sums (per thread: c sums, then c sums of the second kind)
 * added up, in thread order, into sum and sum2. */
static void combine(const double *part, int nt, int64_t c, double *sum, double *sum2) {
    for (int64_t j = 0; j < c; j++) {
        double s = 0, q = 0;
        for (int t = 0; t < nt; t++) {
            s += part[(size_t)t * 2 * c + j];
            q += part[(size_t)t * 2 * c + c + j];
        }
        sum[j] = s;
        sum2[j] = q;
    }
}

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
    combine(part, nt, c, sum, sum2);                                                         \
    free(part);                                                                              \
    free(blk);                                                                               \
    return 0;

/* The bfloat16 versions of apply and grad_input are unused where the SIMD ones below replace them. */
#define MAYBE_UNUSED __attribute__((unused))

#define KERNELS(SUF, T)                                                                      \
    /* sum: of x - shift; sum2: of (x - shift)^2 (shift: a sample row, against cancellation) */ \
    MAYBE_UNUSED static int stats_##SUF(const T *restrict x, int64_t rows, int64_t c,        \
                           const float *restrict shift, double *sum, double *sum2, int threads) { \
        SUM_OVER_ROWS(float v = load_##SUF(x, o + j) - shift[j]; fs[j] += v; fq[j] += v * v;) \
    }                                                                                        \
    MAYBE_UNUSED static void apply_##SUF(const T *restrict x, T *restrict y, int64_t rows, int64_t c, \
                            const float *restrict a, const float *restrict b, int threads) { \
        int nt = threads < 1 ? 1 : threads;                                                  \
        _Pragma("omp parallel for num_threads(nt) schedule(static)")                         \
        for (int64_t r = 0; r < rows; r++) {                                                 \
            int64_t o = r * c;                                                               \
            for (int64_t j = 0; j < c; j++) {                                                \
                float v = load_##SUF(x, o + j) * a[j] + b[j];                                \
                store_##SUF(y, o + j, v <= 0.f ? 0.f : v); /* NaN stays NaN, as torch */     \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
    /* sum: of g; sum2: of g (x - mean) */                                                   \
    MAYBE_UNUSED static int grad_sums_##SUF(const T *restrict x, const T *restrict dy, int64_t rows, \
                               int64_t c, const float *restrict a, const float *restrict b,  \
                               const float *restrict mean, double *sum, double *sum2,        \
                               int threads) {                                                \
        SUM_OVER_ROWS(float xv = load_##SUF(x, o + j);                                       \
                      float g = xv * a[j] + b[j] <= 0.f ? 0.f : load_##SUF(dy, o + j);        \
                      fs[j] += g; fq[j] += g * (xv - mean[j]);)                              \
    }                                                                                        \
    MAYBE_UNUSED static void grad_input_##SUF(const T *restrict x, const T *restrict dy, T *restrict dx, \
                                 int64_t rows, int64_t c, const float *restrict a,           \
                                 const float *restrict b, const float *restrict q,           \
                                 const float *restrict s, int threads) {                     \
        int nt = threads < 1 ? 1 : threads;                                                  \
        _Pragma("omp parallel for num_threads(nt) schedule(static)")                         \
        for (int64_t r = 0; r < rows; r++) {                                                 \
            int64_t o = r * c;                                                               \
            for (int64_t j = 0; j < c; j++) {                                                \
                float xv = load_##SUF(x, o + j);                                             \
                float g = xv * a[j] + b[j] <= 0.f ? 0.f : load_##SUF(dy, o + j);              \
                store_##SUF(dx, o + j, a[j] * g - q[j] * xv + s[j]);                         \
            }                                                                                \
        }                                                                                    \
    }

KERNELS(f32, float)
KERNELS(bf16, uint16_t)

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512BF16__)
/* CPUs with AVX512-BF16 (Zen 4, Sapphire Rapids and later): the bfloat16 passes that write
 * a map, with the CPU's own rounding to bfloat16 (round to nearest even, as above; it
 * treats denormal inputs as zero, values below 1.2e-38 that these maps do not hold). */
#include <immintrin.h>
#define HAVE_BF16_SIMD 1

static inline __m512 load16_bf16(const uint16_t *p, __mmask16 m) {
    __m256i h = _mm256_maskz_loadu_epi16(m, p);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

static inline void store16_bf16(uint16_t *p, __m512 v, __mmask16 m) {
    _mm256_mask_storeu_epi16(p, m, (__m256i)_mm512_cvtneps_pbh(v));
}

static inline __mmask16 tail(int64_t left) { return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1); }

/* For every row (rows in parallel) and every group of 16 channels from j, mask m: BODY. */
#define EACH_16(BODY)                                                                        \
    int nt = threads < 1 ? 1 : threads;                                                      \
    const __m512 zero = _mm512_setzero_ps();                                                 \
    _Pragma("omp parallel for num_threads(nt) schedule(static)")                             \
    for (int64_t r = 0; r < rows; r++) {                                                     \
        int64_t o = r * c;                                                                   \
        for (int64_t j = 0; j < c; j += 16) {                                                \
            __mmask16 m = tail(c - j);                                                       \
            BODY                                                                             \
        }                                                                                    \
    }

static void apply_bf16_simd(const uint16_t *restrict x, uint16_t *restrict y, int64_t rows, int64_t c,
                            const float *restrict a, const float *restrict b, int threads) {
    EACH_16(__m512 v = _mm512_fmadd_ps(load16_bf16(x + o + j, m), _mm512_maskz_loadu_ps(m, a + j),
                                       _mm512_maskz_loadu_ps(m, b + j));
            store16_bf16(y + o + j, _mm512_max_ps(zero, v), m);) /* max(0, NaN) is NaN */
}

static void grad_input_bf16_simd(const uint16_t *restrict x, const uint16_t *restrict dy,
                                 uint16_t *restrict dx, int64_t rows, int64_t c,
                                 const float *restrict a, const float *restrict b,
                                 const float *restrict q, const float *restrict s, int threads) {
    EACH_16(__m512 av = _mm512_maskz_loadu_ps(m, a + j);
            __m512 xv = load16_bf16(x + o + j, m);
            __m512 pre = _mm512_fmadd_ps(xv, av, _mm512_maskz_loadu_ps(m, b + j));
            /* not <= 0: NaN passes, as through torch's ReLU backward */
            __mmask16 on = _mm512_cmp_ps_mask(pre, zero, _CMP_NLE_UQ);
            __m512 g = _mm512_maskz_mov_ps(on, load16_bf16(dy + o + j, m));
            /* a g - q x + s */
            __m512 v = _mm512_add_ps(_mm512_sub_ps(_mm512_mul_ps(av, g), _mm512_mul_ps(_mm512_maskz_loadu_ps(m, q + j), xv)),
                                     _mm512_maskz_loadu_ps(m, s + j));
            store16_bf16(dx + o + j, v, m);)
}

/* The two reductions, 16 channels at a time in registers over blocks of BLOCK rows; the same
 * float32-per-block, float64-across-blocks sums as SUM_OVER_ROWS. */
#define SIMD_SUMS(INIT, BODY)                                                                \
    int nt = threads < 1 ? 1 : threads;                                                      \
    double *part = calloc((size_t)nt * 2 * c, sizeof(double));                               \
    if (!part) return 1;                                                                     \
    _Pragma("omp parallel num_threads(nt)") {                                                \
        int t = omp_get_thread_num(), n = omp_get_num_threads();                             \
        int64_t r0 = rows * t / n, r1 = rows * (t + 1) / n;                                  \
        double *restrict ps = part + (size_t)t * 2 * c, *restrict pq = ps + c;               \
        for (int64_t rb = r0; rb < r1; rb += BLOCK) {                                        \
            int64_t re = rb + BLOCK < r1 ? rb + BLOCK : r1;                                  \
            for (int64_t j = 0; j < c; j += 16) {                                            \
                __mmask16 m = tail(c - j);                                                   \
                INIT                                                                         \
                __m512 acc = _mm512_setzero_ps(), acc2 = _mm512_setzero_ps();                \
                for (int64_t r = rb; r < re; r++) {                                          \
                    int64_t o = r * c + j;                                                   \
                    BODY                                                                     \
                }                                                                            \
                float fs[16], fq[16];                                                        \
                _mm512_storeu_ps(fs, acc);                                                   \
                _mm512_storeu_ps(fq, acc2);                                                  \
                for (int64_t k = 0; k < 16 && j + k < c; k++) {                              \
                    ps[j + k] += fs[k];                                                      \
                    pq[j + k] += fq[k];                                                      \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
    combine(part, nt, c, sum, sum2);                                                         \
    free(part);                                                                              \
    return 0;

static int stats_bf16_simd(const uint16_t *restrict x, int64_t rows, int64_t c,
                           const float *restrict shift, double *sum, double *sum2, int threads) {
    SIMD_SUMS(__m512 sh = _mm512_maskz_loadu_ps(m, shift + j);,
              __m512 v = _mm512_sub_ps(load16_bf16(x + o, m), sh);
              acc = _mm512_add_ps(acc, v); acc2 = _mm512_fmadd_ps(v, v, acc2);)
}

static int grad_sums_bf16_simd(const uint16_t *restrict x, const uint16_t *restrict dy, int64_t rows,
                               int64_t c, const float *restrict a, const float *restrict b,
                               const float *restrict mean, double *sum, double *sum2, int threads) {
    const __m512 zero = _mm512_setzero_ps();
    SIMD_SUMS(__m512 av = _mm512_maskz_loadu_ps(m, a + j); __m512 bv = _mm512_maskz_loadu_ps(m, b + j);
              __m512 mv = _mm512_maskz_loadu_ps(m, mean + j);,
              __m512 xv = load16_bf16(x + o, m);
              __mmask16 on = _mm512_cmp_ps_mask(_mm512_fmadd_ps(xv, av, bv), zero, _CMP_NLE_UQ);
              __m512 g = _mm512_maskz_mov_ps(on, load16_bf16(dy + o, m));
              acc = _mm512_add_ps(acc, g); acc2 = _mm512_fmadd_ps(g, _mm512_sub_ps(xv, mv), acc2);)
}
#endif

/* Maps with few channels are processed as "wide rows" of R consecutive rows (R * c
 * channels, the per-channel values repeated R times), so that the inner loops stay long. */
#define WIDE 64

static int64_t widen(int64_t rows, int64_t c) {
    int64_t r = 1;
    while (2 * r * c <= WIDE && rows % (2 * r) == 0) r *= 2;
    return r;
}

/* out[i * c + j] = v[j] for i < r; NULL when out of memory. */
static float *repeat(const float *v, int64_t c, int64_t r) {
    float *out = malloc((size_t)(r * c) * sizeof(float));
    if (out)
        for (int64_t i = 0; i < r; i++) memcpy(out + i * c, v, (size_t)c * sizeof(float));
    return out;
}

/* sum[j] = sum over i < r of wide[i * c + j], for both arrays. */
static void fold(const double *wide, const double *wide2, int64_t c, int64_t r, double *sum, double *sum2) {
    for (int64_t j = 0; j < c; j++) {
        double s = 0, q = 0;
        for (int64_t i = 0; i < r; i++) {
            s += wide[i * c + j];
            q += wide2[i * c + j];
        }
        sum[j] = s;
        sum2[j] = q;
    }
}

/* The exported entry points: dtype 1 = bfloat16, 0 = float32. Nonzero return: out of memory. */

/* Forward: y = max(0, bn(x)); saved = (mean, invstd, a, b), 4 x c floats; the running
 * statistics move by `factor` towards the batch's (the variance unbiased), as BatchNorm2d. */
int bn_relu_forward(const void *x, void *y, int dtype, int64_t rows, int64_t c, const float *weight,
                    const float *bias, double eps, double factor, float *running_mean,
                    float *running_var, float *saved, int threads) {
    int64_t r = widen(rows, c), wr = rows / r, wc = r * c;
    float *first = malloc((size_t)c * sizeof(float));
    if (first)  /* the first row, subtracted before summing, against cancellation */
        for (int64_t j = 0; j < c; j++) first[j] = dtype ? load_bf16(x, j) : load_f32(x, j);
    float *shift = first ? repeat(first, c, r) : NULL;
    double *wide = malloc((size_t)(2 * wc + 2 * c) * sizeof(double));
    int err = !first || !shift || !wide;
    if (!err)
#ifdef HAVE_BF16_SIMD
        err = dtype ? stats_bf16_simd(x, wr, wc, shift, wide, wide + wc, threads)
#else
        err = dtype ? stats_bf16(x, wr, wc, shift, wide, wide + wc, threads)
#endif
                    : stats_f32(x, wr, wc, shift, wide, wide + wc, threads);
    if (!err) {
        double *sum = wide + 2 * wc, *sum2 = sum + c;
        fold(wide, wide + wc, c, r, sum, sum2);
        float *mean = saved, *invstd = saved + c, *a = saved + 2 * c, *b = saved + 3 * c;
        for (int64_t j = 0; j < c; j++) {
            double m = sum[j] / rows, var = sum2[j] / rows - m * m;
            var = var > 0 ? var : 0;
            double mu = m + first[j], is = 1.0 / sqrt(var + eps);
            mean[j] = (float)mu;
            invstd[j] = (float)is;
            a[j] = (float)(weight[j] * is);
            b[j] = (float)(bias[j] - mu * weight[j] * is);
            running_mean[j] = (float)((1 - factor) * running_mean[j] + factor * mu);
            running_var[j] = (float)((1 - factor) * running_var[j] + factor * var * rows / (rows - 1));
        }
        float *wa = repeat(a, c, r), *wb = repeat(b, c, r);
        err = !wa || !wb;
        if (!err && dtype)
#ifdef HAVE_BF16_SIMD
            apply_bf16_simd(x, y, wr, wc, wa, wb, threads);
#else
            apply_bf16(x, y, wr, wc, wa, wb, threads);
#endif
        else if (!err)
            apply_f32(x, y, wr, wc, wa, wb, threads);
        free(wa);
        free(wb);
    }
    free(first);
    free(shift);
    free(wide);
    return err;
}

/* Backward, from the forward's `saved`: grads = (dweight, dbias), 2 x c floats; dx unless NULL. */
int bn_relu_backward(const void *x, const void *dy, void *dx, int dtype, int64_t rows, int64_t c,
                     const float *saved, float *grads, int threads) {
    const float *mean = saved, *invstd = saved + c, *a = saved + 2 * c, *b = saved + 3 * c;
    int64_t r = widen(rows, c), wr = rows / r, wc = r * c;
    float *wa = repeat(a, c, r), *wb = repeat(b, c, r), *wm = repeat(mean, c, r);
    float *q = malloc((size_t)(2 * c) * sizeof(float)), *s = q ? q + c : NULL;
    double *wide = malloc((size_t)(2 * wc + 2 * c) * sizeof(double));
    int err = !wa || !wb || !wm || !q || !wide;
    if (!err)
#ifdef HAVE_BF16_SIMD
        err = dtype ? grad_sums_bf16_simd(x, dy, wr, wc, wa, wb, wm, wide, wide + wc, threads)
#else
        err = dtype ? grad_sums_bf16(x, dy, wr, wc, wa, wb, wm, wide, wide + wc, threads)
#endif
                    : grad_sums_f32(x, dy, wr, wc, wa, wb, wm, wide, wide + wc, threads);
    if (!err) {
        double *sum = wide + 2 * wc, *sum2 = sum + c;  /* sum of g, of g (x - mean) */
        fold(wide, wide + wc, c, r, sum, sum2);
        for (int64_t j = 0; j < c; j++) {
            double dw = sum2[j] * invstd[j];
            grads[j] = (float)dw;
            grads[c + j] = (float)sum[j];
            /* dx = a (g - sum g / n - (x - mean) invstd dweight / n) = a g - q x + s */
            double qj = (double)a[j] * invstd[j] * dw / rows;
            q[j] = (float)qj;
            s[j] = (float)(qj * mean[j] - (double)a[j] * sum[j] / rows);
        }
        float *wq = dx ? repeat(q, c, r) : NULL, *ws = dx ? repeat(s, c, r) : NULL;
        err = dx && (!wq || !ws);
        if (!err && dx && dtype)
#ifdef HAVE_BF16_SIMD
            grad_input_bf16_simd(x, dy, dx, wr, wc, wa, wb, wq, ws, threads);
#else
            grad_input_bf16(x, dy, dx, wr, wc, wa, wb, wq, ws, threads);
#endif
        else if (!err && dx)
            grad_input_f32(x, dy, dx, wr, wc, wa, wb, wq, ws, threads);
        free(wq);
        free(ws);
    }
    free(wa);
    free(wb);
    free(wm);
    free(q);
    free(wide);
    return err;
}
