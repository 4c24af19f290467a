/* torch.optim.Adadelta's per-parameter update (foreach=False) in one pass over its four
 * float32 tensors, each element through torch's operations in torch's order and with its
 * fused multiply-adds (its add(alpha=) and addcmul are fused, its other operations not).
 * The result is torch's within one float32 rounding: torch's vectorised square root is not
 * always correctly rounded (about 0.6 % of elements one unit apart), this one is.
 * tests/training/test_optim.py checks both.
 *
 *     g = fma(weight_decay, param, grad)                    (when weight_decay != 0)
 *     square_avg = fma((1 - rho) * g, g, square_avg * rho)
 *     delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g
 *     acc_delta = fma((1 - rho) * delta, delta, acc_delta * rho)
 *     param = fma(-lr, delta, param)
 *
 * Parallel over elements with OpenMP, `threads` threads. Called by glcic/training/optim.py.
 */
#pragma GCC optimize("fp-contract=off")
#include <math.h>
#include <stdint.h>
#include <omp.h>

void adadelta_step(float *restrict param, const float *restrict grad, float *restrict square_avg,
                   float *restrict acc_delta, int64_t n, float neg_lr, float rho,
                   float one_minus_rho, float eps, float weight_decay, int threads) {
    int nt = threads < 1 || n < 65536 ? 1 : threads;  /* small tensors: not worth sharing */
    int decay = weight_decay != 0.f;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float g = decay ? fmaf(weight_decay, param[i], grad[i]) : grad[i];
        float sa = fmaf(one_minus_rho * g, g, square_avg[i] * rho);
        float delta = sqrtf(acc_delta[i] + eps) / sqrtf(sa + eps);
        delta = delta * g;
        square_avg[i] = sa;
        acc_delta[i] = fmaf(one_minus_rho * delta, delta, acc_delta[i] * rho);
        param[i] = fmaf(neg_lr, delta, param[i]);
    }
}
