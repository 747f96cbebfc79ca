#include "update.h"

namespace singa::cpu {

void sgd_update(int64_t n, float* w, const float* g, float* h, float lr, float wd, float momentum,
                float grad_scale) {
  if (momentum > 0.f) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      h[i] = momentum * h[i] - lr * (grad_scale * g[i] + wd * w[i]);
      w[i] += h[i];
    }
  } else {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) w[i] -= lr * (grad_scale * g[i] + wd * w[i]);
  }
}

void axpby(int64_t n, float alpha, const float* x, float beta, float* y) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) y[i] = beta * y[i] + alpha * x[i];
}

}  // namespace singa::cpu
