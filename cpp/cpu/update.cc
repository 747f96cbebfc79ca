#include "update.h"

#include "common.h"

namespace singa::cpu {

namespace {

// The loops over one block [begin, end), their scalars passed as arguments: the compiler vectorises a
// loop whose scalars are locals, not one whose scalars are a lambda's captures (a store through a float
// pointer might change those).
void sgd_block(int64_t begin, int64_t end, float* w, const float* g, float lr, float wd, float grad_scale) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) w[i] -= lr * (grad_scale * g[i] + wd * w[i]);
}

void momentum_block(int64_t begin, int64_t end, float* w, const float* g, float* h, float lr, float wd,
                    float momentum, float grad_scale) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) {
    h[i] = momentum * h[i] - lr * (grad_scale * g[i] + wd * w[i]);
    w[i] += h[i];
  }
}

void axpby_block(int64_t begin, int64_t end, float alpha, const float* x, float beta, float* y) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) y[i] = beta * y[i] + alpha * x[i];
}

}  // namespace

void sgd_update(int64_t n, float* w, const float* g, float* h, float lr, float wd, float momentum,
                float grad_scale) {
  if (momentum > 0.f) {
    for_each_block(n, [&](int64_t b, int64_t e) {
      momentum_block(b, e, w, g, h, lr, wd, momentum, grad_scale);
    });
  } else {
    for_each_block(n, [&](int64_t b, int64_t e) { sgd_block(b, e, w, g, lr, wd, grad_scale); });
  }
}

void axpby(int64_t n, float alpha, const float* x, float beta, float* y) {
  for_each_block(n, [&](int64_t b, int64_t e) { axpby_block(b, e, alpha, x, beta, y); });
}

}  // namespace singa::cpu
