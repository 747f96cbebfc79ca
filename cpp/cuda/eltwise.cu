// Element-wise activations (backward from the output, as on the CPU) and row softmax on the device.
#include <cmath>

#include "common.cuh"
#include "kernels.h"

namespace singa::cuda {

namespace {

__global__ void act_fwd(int kind, int64_t n, const float* x, float* y) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float v = x[i];
  y[i] = kind == 0 ? fmaxf(v, 0.f) : kind == 1 ? tanhf(v) : 1.f / (1.f + expf(-v));
}

__global__ void act_bwd(int kind, int64_t n, const float* y, const float* dy, float* dx) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float v = y[i];
  dx[i] = dy[i] * (kind == 0 ? (v > 0.f ? 1.f : 0.f) : kind == 1 ? 1.f - v * v : v * (1.f - v));
}

// One thread per row: subtract the row max for stability, then normalise.
__global__ void softmax_rows(int64_t rows, int64_t cols, const float* x, float* y) {
  const int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (r >= rows) return;
  const float* in = x + r * cols;
  float* out = y + r * cols;
  float mx = in[0], sum = 0.f;
  for (int64_t j = 1; j < cols; ++j) mx = fmaxf(mx, in[j]);
  for (int64_t j = 0; j < cols; ++j) sum += (out[j] = expf(in[j] - mx));
  for (int64_t j = 0; j < cols; ++j) out[j] /= sum;
}

}  // namespace

void act_forward(Act a, int64_t n, const float* x, float* y) {
  if (n == 0) return;  // an empty grid is a launch error
  DeviceBuffer dx(n, x), dy(n);
  act_fwd<<<blocks(n), kThreads>>>(static_cast<int>(a), n, dx.get(), dy.get());
  finish("act_forward");
  dy.to_host(y);
}

void act_backward(Act a, int64_t n, const float* y, const float* dy, float* dx) {
  if (n == 0) return;
  DeviceBuffer dys(n, y), ddy(n, dy), ddx(n);
  act_bwd<<<blocks(n), kThreads>>>(static_cast<int>(a), n, dys.get(), ddy.get(), ddx.get());
  finish("act_backward");
  ddx.to_host(dx);
}

void softmax_forward(int64_t rows, int64_t cols, const float* x, float* y) {
  if (rows == 0 || cols == 0) return;
  DeviceBuffer dx(rows * cols, x), dy(rows * cols);
  softmax_rows<<<blocks(rows), kThreads>>>(rows, cols, dx.get(), dy.get());
  finish("softmax_forward");
  dy.to_host(y);
}

}  // namespace singa::cuda
