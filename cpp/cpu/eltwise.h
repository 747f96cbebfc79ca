// Element-wise activations (forward, and backward from the forward's output) and row softmax.
#pragma once

#include "../shapes.h"

namespace singa::cpu {

// y = f(x) over n elements.
void act_forward(Act a, int64_t n, const float* x, float* y);
// dx = dy * f'(x), computed from y = f(x).
void act_backward(Act a, int64_t n, const float* y, const float* dy, float* dx);
// y = a tanh(b x), and its backward from y.
void stanh_forward(int64_t n, float a, float b, const float* x, float* y);
void stanh_backward(int64_t n, float a, float b, const float* y, const float* dy, float* dx);
// y[r, :] = softmax(x[r, :]) for each of `rows` rows of `cols` values.
void softmax_forward(int64_t rows, int64_t cols, const float* x, float* y);

}  // namespace singa::cpu
