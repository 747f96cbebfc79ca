// Param updates as one pass over the param, its gradient and its history (memory-bound work, so
// every pass saved counts).
#pragma once

#include <cstdint>

namespace singa::cpu {

// SGD with weight decay and momentum, in place: g' = grad_scale g + wd w;
// momentum > 0: h = momentum h - lr g', w += h; else w -= lr g'. `h` may be null without momentum.
void sgd_update(int64_t n, float* w, const float* g, float* h, float lr, float wd, float momentum,
                float grad_scale);

// y = beta y + alpha x, in place.
void axpby(int64_t n, float alpha, const float* x, float beta, float* y);

}  // namespace singa::cpu
