// The recurrent cells on the device: the GEMMs through gemm_device, then one fused kernel over the gates
// (one thread per batch item and hidden unit), as the CPU kernels in cpu/rnn.cc.
#include <algorithm>

#include "common.cuh"
#include "kernels.h"

namespace singa::cuda {

namespace {

__device__ float sigmoid(float x) { return 1.f / (1.f + expf(-x)); }

// g: x W_ih^T (+ h_prev W_hh^T but for gru, whose gh holds it); sv: the values saved for backward.
__global__ void cell_fwd(int kind, int64_t B, int64_t H, const float* g, const float* gh, const float* bi,
                         const float* bh, const float* hp, const float* cp, float* h, float* c, float* sv) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= B * H) return;
  const int64_t b = t / H, j = t % H, G = (kind == 0 ? 1 : kind == 1 ? 3 : 4) * H;
  const float* gr = g + b * G;
  if (kind == 0) {
    h[t] = sv[b * H + j] = tanhf(gr[j] + bi[j] + bh[j]);
  } else if (kind == 1) {
    const float* hr = gh + b * G;
    float* s = sv + b * 4 * H;
    const float r = sigmoid(gr[j] + bi[j] + hr[j] + bh[j]);
    const float z = sigmoid(gr[H + j] + bi[H + j] + hr[H + j] + bh[H + j]);
    const float hn = hr[2 * H + j] + bh[2 * H + j];
    const float n = tanhf(gr[2 * H + j] + bi[2 * H + j] + r * hn);
    h[t] = (1.f - z) * n + z * hp[t];
    s[j] = r, s[H + j] = z, s[2 * H + j] = n, s[3 * H + j] = hn;
  } else {
    float* s = sv + b * 5 * H;
    const float i = sigmoid(gr[j] + bi[j] + bh[j]), f = sigmoid(gr[H + j] + bi[H + j] + bh[H + j]);
    const float gg = tanhf(gr[2 * H + j] + bi[2 * H + j] + bh[2 * H + j]);
    const float o = sigmoid(gr[3 * H + j] + bi[3 * H + j] + bh[3 * H + j]);
    const float cn = f * cp[t] + i * gg, tc = tanhf(cn);
    c[t] = cn, h[t] = o * tc;
    s[j] = i, s[H + j] = f, s[2 * H + j] = gg, s[3 * H + j] = o, s[4 * H + j] = tc;
  }
}

// The gates' pre-activation gradients dg (gru: dgi and dgh), dh_prev's direct part (gru) and dc_prev.
__global__ void cell_bwd(int kind, int64_t B, int64_t H, const float* dh, const float* dc, const float* hp,
                         const float* cp, const float* sv, float* dgi, float* dgh, float* dhp, float* dcp) {
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (t >= B * H) return;
  const int64_t b = t / H, j = t % H, G = (kind == 0 ? 1 : kind == 1 ? 3 : 4) * H;
  float *gi = dgi + b * G, *gh = dgh + b * G;
  const float d = dh[t];
  if (kind == 0) {
    const float y = sv[t];
    gi[j] = d * (1.f - y * y);
  } else if (kind == 1) {
    const float* s = sv + b * 4 * H;
    const float r = s[j], z = s[H + j], n = s[2 * H + j], hn = s[3 * H + j];
    const float dn = d * (1.f - z) * (1.f - n * n), dz = d * (hp[t] - n) * z * (1.f - z);
    const float dr = dn * hn * r * (1.f - r);
    gi[j] = gh[j] = dr, gi[H + j] = gh[H + j] = dz, gi[2 * H + j] = dn, gh[2 * H + j] = dn * r;
    dhp[t] = d * z;
  } else {
    const float* s = sv + b * 5 * H;
    const float i = s[j], f = s[H + j], g = s[2 * H + j], o = s[3 * H + j], tc = s[4 * H + j];
    const float dct = dc[t] + d * o * (1.f - tc * tc);
    gi[j] = dct * g * i * (1.f - i), gi[H + j] = dct * cp[t] * f * (1.f - f);
    gi[2 * H + j] = dct * i * (1.f - g * g), gi[3 * H + j] = d * tc * o * (1.f - o);
    dcp[t] = dct * f;
  }
}

// db[k] += sum over the rows of dg[:, k].
__global__ void add_column_sums(int64_t rows, int64_t cols, const float* dg, float* db) {
  const int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (k >= cols) return;
  float sum = 0.f;
  for (int64_t r = 0; r < rows; ++r) sum += dg[r * cols + k];
  db[k] += sum;
}

// A device copy of an optional host array: zeros where it is null.
void fill(DeviceBuffer& d, const float* host) {
  if (!host) d.zero();
}

// host += the column sums of dg, where host (a bias gradient) is wanted.
void add_bias_grad(int64_t rows, int64_t cols, const float* dg, float* host) {
  if (!host) return;
  DeviceBuffer db(cols, host);
  add_column_sums<<<blocks(cols), kThreads>>>(rows, cols, dg, db.get());
  finish("cell_backward (bias)");
  db.to_host(host);
}

// host += op(a)^T b on the device, where host (a weight gradient) is wanted.
void add_weight_grad(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* host) {
  if (!host) return;
  DeviceBuffer dw(m * n, host);
  gemm_device(true, false, m, n, k, 1.f, a, b, 1.f, dw.get());
  finish("cell_backward (weights)");
  dw.to_host(host);
}

}  // namespace

void cell_forward(const CellShape& s, const CellArrays& a) {
  const int64_t B = s.batch, I = s.input, H = s.hidden, GH = s.gates() * H;
  if (B == 0 || H == 0) return;  // nothing to write (and an empty grid is a launch error)
  const bool gru = s.cell == Cell::gru, lstm = s.cell == Cell::lstm;
  DeviceBuffer x(B * I, a.x), hp(B * H, a.h_prev), wi(GH * I, a.w_ih), wh(GH * H, a.w_hh);
  DeviceBuffer bi(GH, a.b_ih), bh(GH, a.b_hh), cp(lstm ? B * H : 0, a.c_prev);
  fill(bi, a.b_ih), fill(bh, a.b_hh);
  DeviceBuffer gi(B * GH), gh(gru ? B * GH : 0), h(B * H), c(lstm ? B * H : 0), sv(B * s.saved());
  gemm_device(false, true, B, GH, I, 1.f, x.get(), wi.get(), 0.f, gi.get());
  gemm_device(false, true, B, GH, H, 1.f, hp.get(), wh.get(), gru ? 0.f : 1.f, gru ? gh.get() : gi.get());
  cell_fwd<<<blocks(B * H), kThreads>>>(static_cast<int>(s.cell), B, H, gi.get(), gh.get(), bi.get(),
                                        bh.get(), hp.get(), cp.get(), h.get(), c.get(), sv.get());
  finish("cell_forward");
  h.to_host(a.h), sv.to_host(a.saved);
  if (lstm) c.to_host(a.c);
}

void cell_backward(const CellShape& s, const CellArrays& a) {
  const int64_t B = s.batch, I = s.input, H = s.hidden, GH = s.gates() * H;
  if (B == 0) return;  // every output is empty, every sum gains nothing
  if (H == 0) {        // dx is a sum over no gates
    if (a.dx) std::fill(a.dx, a.dx + B * I, 0.f);
    return;
  }
  const bool gru = s.cell == Cell::gru, lstm = s.cell == Cell::lstm;
  DeviceBuffer x(B * I, a.x), hp(B * H, a.h_prev), wi(GH * I, a.w_ih), wh(GH * H, a.w_hh);
  DeviceBuffer cp(lstm ? B * H : 0, a.c_prev), sv(B * s.saved(), a.saved), dh(B * H, a.dh);
  DeviceBuffer dc(lstm ? B * H : 0, a.dc), dgi(B * GH), dgh(gru ? B * GH : 0);
  DeviceBuffer dhp(B * H), dcp(lstm ? B * H : 0);
  if (lstm) fill(dc, a.dc);
  float* dg_h = gru ? dgh.get() : dgi.get();  // rnn and lstm: one gradient for both products
  cell_bwd<<<blocks(B * H), kThreads>>>(static_cast<int>(s.cell), B, H, dh.get(), dc.get(), hp.get(),
                                        cp.get(), sv.get(), dgi.get(), dg_h, dhp.get(), dcp.get());
  gemm_device(false, false, B, H, GH, 1.f, dg_h, wh.get(), gru ? 1.f : 0.f, dhp.get());
  finish("cell_backward");
  dhp.to_host(a.dh_prev);
  if (lstm) dcp.to_host(a.dc_prev);
  if (a.dx) {
    DeviceBuffer dx(B * I);
    gemm_device(false, false, B, I, GH, 1.f, dgi.get(), wi.get(), 0.f, dx.get());
    finish("cell_backward (dx)");
    dx.to_host(a.dx);
  }
  add_weight_grad(GH, I, B, dgi.get(), x.get(), a.dw_ih);
  add_weight_grad(GH, H, B, dg_h, hp.get(), a.dw_hh);
  add_bias_grad(B, GH, dgi.get(), a.db_ih);
  add_bias_grad(B, GH, dg_h, a.db_hh);
}

}  // namespace singa::cuda
