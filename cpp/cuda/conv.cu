// Convolution as im2col + GEMM per image (Caffe's CConvolution), with col2im for the data gradient.
#include "common.cuh"
#include "kernels.h"

namespace singa::cuda {

namespace {

// col[(c*k + ki)*k + kj, oh*OW + ow] = x[c, oh*s - p + ki, ow*s - p + kj] (zero outside the image).
__global__ void im2col(const float* x, ConvShape s, float* col) {
  const int64_t oh_n = s.oh(), ow_n = s.ow(), total = s.c * s.k * s.k * oh_n * ow_n;
  const int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (idx >= total) return;
  int64_t t = idx;
  const int64_t ow = t % ow_n; t /= ow_n;
  const int64_t oh = t % oh_n; t /= oh_n;
  const int64_t kj = t % s.k; t /= s.k;
  const int64_t ki = t % s.k;
  const int64_t c = t / s.k;
  const int64_t hi = oh * s.stride - s.pad + ki, wi = ow * s.stride - s.pad + kj;
  col[idx] = (hi >= 0 && hi < s.h && wi >= 0 && wi < s.w) ? x[(c * s.h + hi) * s.w + wi] : 0.f;
}

// The adjoint of im2col: each input pixel gathers the column entries that read it.
__global__ void col2im(const float* col, ConvShape s, float* x) {
  const int64_t oh_n = s.oh(), ow_n = s.ow(), total = s.c * s.h * s.w;
  const int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (idx >= total) return;
  const int64_t wi = idx % s.w, hi = (idx / s.w) % s.h, c = idx / (s.w * s.h);
  float sum = 0.f;
  for (int64_t ki = 0; ki < s.k; ++ki) {
    const int64_t hh = hi + s.pad - ki;
    if (hh < 0 || hh % s.stride || hh / s.stride >= oh_n) continue;
    for (int64_t kj = 0; kj < s.k; ++kj) {
      const int64_t ww = wi + s.pad - kj;
      if (ww < 0 || ww % s.stride || ww / s.stride >= ow_n) continue;
      sum += col[((c * s.k + ki) * s.k + kj) * oh_n * ow_n + (hh / s.stride) * ow_n + ww / s.stride];
    }
  }
  x[idx] = sum;
}

__global__ void add_bias(float* y, const float* b, int64_t channels, int64_t plane, int64_t total) {
  const int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (idx < total) y[idx] += b[(idx / plane) % channels];
}

// db[c] = sum of dy[n, c, :, :]: one block per channel, a shared-memory tree reduction.
__global__ void bias_grad(const float* dy, int64_t n, int64_t channels, int64_t plane, float* db) {
  __shared__ float part[kThreads];
  const int64_t c = blockIdx.x;
  float sum = 0.f;
  for (int64_t i = threadIdx.x; i < n * plane; i += blockDim.x)
    sum += dy[((i / plane) * channels + c) * plane + i % plane];
  part[threadIdx.x] = sum;
  __syncthreads();
  for (int half = kThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) part[threadIdx.x] += part[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) db[c] = part[0];
}

int64_t col_rows(const ConvShape& s) { return s.c * s.k * s.k; }
int64_t plane(const ConvShape& s) { return s.oh() * s.ow(); }

}  // namespace

void conv_forward(const ConvShape& s, const float* x, const float* w, const float* b, float* y) {
  if (s.y_size() == 0) return;
  const int64_t in = s.c * s.h * s.w, out = s.oc * plane(s);
  DeviceBuffer dx(s.n * in, x), dw(s.oc * col_rows(s), w), dy(s.n * out), col(col_rows(s) * plane(s));
  for (int64_t i = 0; i < s.n; ++i) {
    // no input channels: no columns, and the GEMM (K = 0) writes zeros
    if (col_rows(s) > 0)
      im2col<<<blocks(col_rows(s) * plane(s)), kThreads>>>(dx.get() + i * in, s, col.get());
    gemm_device(false, false, s.oc, plane(s), col_rows(s), 1.f, dw.get(), col.get(), 0.f, dy.get() + i * out);
  }
  if (b) {
    DeviceBuffer db(s.oc, b);
    add_bias<<<blocks(s.n * out), kThreads>>>(dy.get(), db.get(), s.oc, plane(s), s.n * out);
    finish("conv_forward");
  }
  finish("conv_forward");
  dy.to_host(y);
}

void conv_backward_data(const ConvShape& s, const float* dy, const float* w, float* dx) {
  if (s.x_size() == 0) return;  // with no filters the GEMM (K = 0) writes zero columns
  const int64_t in = s.c * s.h * s.w, out = s.oc * plane(s);
  DeviceBuffer ddy(s.n * out, dy), dw(s.oc * col_rows(s), w), ddx(s.n * in), col(col_rows(s) * plane(s));
  for (int64_t i = 0; i < s.n; ++i) {
    gemm_device(true, false, col_rows(s), plane(s), s.oc, 1.f, dw.get(), ddy.get() + i * out, 0.f, col.get());
    col2im<<<blocks(in), kThreads>>>(col.get(), s, ddx.get() + i * in);
  }
  finish("conv_backward_data");
  ddx.to_host(dx);
}

void conv_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dw, float* db) {
  if (s.oc == 0) return;
  const int64_t in = s.c * s.h * s.w, out = s.oc * plane(s);
  DeviceBuffer dx(s.n * in, x), ddy(s.n * out, dy), ddw(s.oc * col_rows(s)), col(col_rows(s) * plane(s));
  if (s.n == 0) ddw.zero();  // the gradient over an empty batch
  for (int64_t i = 0; i < s.n && col_rows(s) > 0; ++i) {
    im2col<<<blocks(col_rows(s) * plane(s)), kThreads>>>(dx.get() + i * in, s, col.get());
    // The first image overwrites dw, the rest accumulate into it.
    gemm_device(false, true, s.oc, col_rows(s), plane(s), 1.f, ddy.get() + i * out, col.get(),
                i ? 1.f : 0.f, ddw.get());
  }
  finish("conv_backward_weights");
  ddw.to_host(dw);
  if (db) {
    DeviceBuffer ddb(s.oc);
    bias_grad<<<static_cast<unsigned>(s.oc), kThreads>>>(ddy.get(), s.n, s.oc, plane(s), ddb.get());
    finish("conv_backward_weights");
    ddb.to_host(db);
  }
}

}  // namespace singa::cuda
