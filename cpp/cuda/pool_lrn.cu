// Pooling (max / average, no padding, floor output size) and across-channel LRN on the device.
#include <cmath>

#include "common.cuh"
#include "kernels.h"

namespace singa::cuda {

namespace {

// The flat input index of the first maximum of output (n, c, oh, ow)'s window.
__device__ int64_t argmax(const float* x, const PoolShape& s, int64_t nc, int64_t oh, int64_t ow) {
  int64_t best = (nc * s.h + oh * s.stride) * s.w + ow * s.stride;
  for (int64_t i = 0; i < s.k; ++i)
    for (int64_t j = 0; j < s.k; ++j) {
      const int64_t at = (nc * s.h + oh * s.stride + i) * s.w + ow * s.stride + j;
      if (x[at] > x[best]) best = at;
    }
  return best;
}

__global__ void pool_fwd(const float* x, PoolShape s, float* y) {
  const int64_t oh_n = s.oh(), ow_n = s.ow(), total = s.n * s.c * oh_n * ow_n;
  const int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (idx >= total) return;
  const int64_t ow = idx % ow_n, oh = (idx / ow_n) % oh_n, nc = idx / (ow_n * oh_n);
  if (s.max) {
    y[idx] = x[argmax(x, s, nc, oh, ow)];
    return;
  }
  float sum = 0.f;
  for (int64_t i = 0; i < s.k; ++i)
    for (int64_t j = 0; j < s.k; ++j) sum += x[(nc * s.h + oh * s.stride + i) * s.w + ow * s.stride + j];
  y[idx] = sum / float(s.k * s.k);
}

// Each output scatters its gradient into its window (atomics: windows overlap when stride < k).
__global__ void pool_bwd(const float* x, const float* dy, PoolShape s, float* dx) {
  const int64_t oh_n = s.oh(), ow_n = s.ow(), total = s.n * s.c * oh_n * ow_n;
  const int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (idx >= total) return;
  const int64_t ow = idx % ow_n, oh = (idx / ow_n) % oh_n, nc = idx / (ow_n * oh_n);
  if (s.max) {
    atomicAdd(dx + argmax(x, s, nc, oh, ow), dy[idx]);
    return;
  }
  const float g = dy[idx] / float(s.k * s.k);
  for (int64_t i = 0; i < s.k; ++i)
    for (int64_t j = 0; j < s.k; ++j) atomicAdd(dx + (nc * s.h + oh * s.stride + i) * s.w + ow * s.stride + j, g);
}

// norm[n,c,h,w] = knorm + alpha / size * sum of x^2 over channels [c - size/2, c + size/2].
__global__ void lrn_norm(const float* x, LrnShape s, float* norm) {
  const int64_t plane = s.h * s.w, total = s.n * s.c * plane;
  const int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (idx >= total) return;
  const int64_t c = (idx / plane) % s.c, base = idx - c * plane, half = s.local_size / 2;
  float sum = 0.f;
  for (int64_t q = c - half; q <= c + half; ++q)
    if (q >= 0 && q < s.c) sum += x[base + q * plane] * x[base + q * plane];
  norm[idx] = s.knorm + s.alpha / float(s.local_size) * sum;
}

__global__ void lrn_fwd(const float* x, const float* norm, LrnShape s, int64_t total, float* y) {
  const int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (idx < total) y[idx] = x[idx] * powf(norm[idx], -s.beta);
}

// dx_c = dy_c norm_c^-beta - 2 alpha beta / size * x_c * sum over the window of dy_q x_q norm_q^(-beta-1).
__global__ void lrn_bwd(const float* x, const float* dy, const float* norm, LrnShape s, float* dx) {
  const int64_t plane = s.h * s.w, total = s.n * s.c * plane;
  const int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (idx >= total) return;
  const int64_t c = (idx / plane) % s.c, base = idx - c * plane, half = s.local_size / 2;
  float sum = 0.f;
  for (int64_t q = c - half; q <= c + half; ++q)
    if (q >= 0 && q < s.c) {
      const int64_t at = base + q * plane;
      sum += dy[at] * x[at] * powf(norm[at], -s.beta - 1.f);
    }
  dx[idx] = dy[idx] * powf(norm[idx], -s.beta) - 2.f * s.alpha * s.beta / float(s.local_size) * x[idx] * sum;
}

}  // namespace

void pool_forward(const PoolShape& s, const float* x, float* y) {
  if (s.y_size() == 0) return;  // an empty grid is a launch error
  const int64_t out = s.n * s.c * s.oh() * s.ow();
  DeviceBuffer dx(s.n * s.c * s.h * s.w, x), dy(out);
  pool_fwd<<<blocks(out), kThreads>>>(dx.get(), s, dy.get());
  finish("pool_forward");
  dy.to_host(y);
}

void pool_backward(const PoolShape& s, const float* x, const float* dy, float* dx) {
  if (s.x_size() == 0) return;
  const int64_t in = s.n * s.c * s.h * s.w, out = s.n * s.c * s.oh() * s.ow();
  DeviceBuffer dxs(in, x), ddy(out, dy), ddx(in);
  ddx.zero();
  pool_bwd<<<blocks(out), kThreads>>>(dxs.get(), ddy.get(), s, ddx.get());
  finish("pool_backward");
  ddx.to_host(dx);
}

void lrn_forward(const LrnShape& s, const float* x, float* y) {
  if (s.size() == 0) return;
  const int64_t total = s.n * s.c * s.h * s.w;
  DeviceBuffer dx(total, x), norm(total), dy(total);
  lrn_norm<<<blocks(total), kThreads>>>(dx.get(), s, norm.get());
  lrn_fwd<<<blocks(total), kThreads>>>(dx.get(), norm.get(), s, total, dy.get());
  finish("lrn_forward");
  dy.to_host(y);
}

void lrn_backward(const LrnShape& s, const float* x, const float* dy, float* dx) {
  if (s.size() == 0) return;
  const int64_t total = s.n * s.c * s.h * s.w;
  DeviceBuffer dxs(total, x), ddy(total, dy), norm(total), ddx(total);
  lrn_norm<<<blocks(total), kThreads>>>(dxs.get(), s, norm.get());
  lrn_bwd<<<blocks(total), kThreads>>>(dxs.get(), ddy.get(), norm.get(), s, ddx.get());
  finish("lrn_backward");
  ddx.to_host(dx);
}

}  // namespace singa::cuda
