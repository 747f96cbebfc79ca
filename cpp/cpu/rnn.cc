#include "rnn.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm.h"

namespace singa::cpu {

namespace {

// exp(x), x clamped to [-87, 88] (the normal floats): 2^k p(r) with r = x - k ln 2 in [-ln2/2, ln2/2] and
// Cephes' degree-6 polynomial (about 1 ulp). Plain arithmetic, so the gate loops vectorise; a call to
// std::exp would keep them scalar and cost more than the step's GEMMs save by being fused.
inline float exp_f(float x) {
  x = std::min(std::max(x, -87.f), 88.f);
  const int32_t k = static_cast<int32_t>(x * 1.44269504f + 128.5f) - 128;  // floor(x / ln 2 + 0.5)
  const float kf = static_cast<float>(k);
  const float r = x - kf * 0.693359375f + kf * 2.12194440e-4f;  // ln 2 in two parts: r stays exact
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  const int32_t bits = (k + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float sigmoid(float x) { return 1.f / (1.f + exp_f(-x)); }
inline float tanh_f(float x) { return 2.f * sigmoid(2.f * x) - 1.f; }

// A thread's buffer `slot` of at least n floats, kept across calls (fresh pages are slow).
float* buffer(int slot, int64_t n) {
  thread_local std::vector<float> bufs[3];
  auto& b = bufs[slot];
  if (b.size() < static_cast<size_t>(n)) b.resize(static_cast<size_t>(n));
  return b.data();
}

// n zeros, read where an optional input (a bias, lstm's dc) is null; never written.
const float* zeros(int64_t n) {
  thread_local std::vector<float> z;
  if (z.size() < static_cast<size_t>(n)) z.assign(static_cast<size_t>(n), 0.f);
  return z.data();
}

// n floats to add into where an optional gradient (a bias's) is not wanted.
float* sink(int64_t n) {
  float* b = buffer(2, n);
  std::fill(b, b + n, 0.f);
  return b;
}

const float* or_zeros(const float* p, int64_t n) { return p ? p : zeros(n); }
float* or_sink(float* p, int64_t n) { return p ? p : sink(n); }

// The fused passes, one row (batch item) each: gi holds x W_ih^T and gh h_prev W_hh^T (apart: gru's r
// scales only the n part of gh), bi and bh the biases, sv the values saved for backward (CellShape::saved).

void rnn_forward_row(int64_t H, const float* gi, const float* gh, const float* bi, const float* bh, float* h,
                     float* sv) {
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) h[j] = sv[j] = tanh_f(gi[j] + bi[j] + gh[j] + bh[j]);
}

void gru_forward_row(int64_t H, const float* gi, const float* gh, const float* bi, const float* bh,
                     const float* hp, float* h, float* sv) {
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    const float r = sigmoid(gi[j] + bi[j] + gh[j] + bh[j]);
    const float z = sigmoid(gi[H + j] + bi[H + j] + gh[H + j] + bh[H + j]);
    const float hn = gh[2 * H + j] + bh[2 * H + j];
    const float n = tanh_f(gi[2 * H + j] + bi[2 * H + j] + r * hn);
    h[j] = (1.f - z) * n + z * hp[j];
    sv[j] = r, sv[H + j] = z, sv[2 * H + j] = n, sv[3 * H + j] = hn;
  }
}

void lstm_forward_row(int64_t H, const float* gi, const float* gh, const float* bi, const float* bh,
                      const float* cp, float* h, float* c, float* sv) {
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    const float i = sigmoid(gi[j] + bi[j] + gh[j] + bh[j]);
    const float f = sigmoid(gi[H + j] + bi[H + j] + gh[H + j] + bh[H + j]);
    const float gg = tanh_f(gi[2 * H + j] + bi[2 * H + j] + gh[2 * H + j] + bh[2 * H + j]);
    const float o = sigmoid(gi[3 * H + j] + bi[3 * H + j] + gh[3 * H + j] + bh[3 * H + j]);
    const float cn = f * cp[j] + i * gg, tc = tanh_f(cn);
    c[j] = cn, h[j] = o * tc;
    sv[j] = i, sv[H + j] = f, sv[2 * H + j] = gg, sv[3 * H + j] = o, sv[4 * H + j] = tc;
  }
}

// Backward rows: dg (dgi, dgh for gru) the gradients of the gates' pre-activations, added into the bias
// gradients dbi and dbh on the way (rows run in order, so the sums need no reduction).

void rnn_backward_row(int64_t H, const float* dh, const float* sv, float* dg, float* dbi, float* dbh) {
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    const float d = dh[j] * (1.f - sv[j] * sv[j]);
    dg[j] = d, dbi[j] += d, dbh[j] += d;
  }
}

void gru_backward_row(int64_t H, const float* dh, const float* hp, const float* sv, float* dgi, float* dgh,
                      float* dhp, float* dbi, float* dbh) {
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    const float r = sv[j], z = sv[H + j], n = sv[2 * H + j], hn = sv[3 * H + j], d = dh[j];
    const float dn = d * (1.f - z) * (1.f - n * n);
    const float dz = d * (hp[j] - n) * z * (1.f - z);
    const float dr = dn * hn * r * (1.f - r);
    dgi[j] = dgh[j] = dr, dgi[H + j] = dgh[H + j] = dz, dgi[2 * H + j] = dn, dgh[2 * H + j] = dn * r;
    dhp[j] = d * z;
    dbi[j] += dr, dbi[H + j] += dz, dbi[2 * H + j] += dn;
    dbh[j] += dr, dbh[H + j] += dz, dbh[2 * H + j] += dn * r;
  }
}

void lstm_backward_row(int64_t H, const float* dh, const float* dc, const float* cp, const float* sv,
                       float* dg, float* dcp, float* dbi, float* dbh) {
#pragma omp simd
  for (int64_t j = 0; j < H; ++j) {
    const float i = sv[j], f = sv[H + j], g = sv[2 * H + j], o = sv[3 * H + j], tc = sv[4 * H + j];
    const float dct = dc[j] + dh[j] * o * (1.f - tc * tc);
    const float di = dct * g * i * (1.f - i), df = dct * cp[j] * f * (1.f - f);
    const float dgg = dct * i * (1.f - g * g), d_o = dh[j] * tc * o * (1.f - o);
    dg[j] = di, dg[H + j] = df, dg[2 * H + j] = dgg, dg[3 * H + j] = d_o;
    dcp[j] = dct * f;
    dbi[j] += di, dbi[H + j] += df, dbi[2 * H + j] += dgg, dbi[3 * H + j] += d_o;
    dbh[j] += di, dbh[H + j] += df, dbh[2 * H + j] += dgg, dbh[3 * H + j] += d_o;
  }
}

}  // namespace

// The fused passes run in the calling thread: a cell's batch x hidden (64 x 512 = 32 K values) is far
// below what pays for waking the OpenMP team (kParallelMin); the GEMMs use the team.
void cell_forward(const CellShape& s, const CellArrays& a) {
  const int64_t B = s.batch, H = s.hidden, GH = s.gates() * H, S = s.saved();
  float *gi = buffer(0, B * GH), *gh = buffer(1, B * GH);
  // oneDNN's matmul primitive, not dnnl_sgemm: for these few rows and many columns it transposes the
  // product (gemm.cc) and ran 2x faster at two threads (64 x 512 by 1536 x 512: 0.45 against 0.95 ms).
  matmul(false, true, B, GH, s.input, a.x, a.w_ih, nullptr, gi);
  matmul(false, true, B, GH, H, a.h_prev, a.w_hh, nullptr, gh);
  const float *bi = or_zeros(a.b_ih, GH), *bh = or_zeros(a.b_hh, GH);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t o = b * H;
    const float *i = gi + b * GH, *g = gh + b * GH;
    float* sv = a.saved + b * S;
    if (s.cell == Cell::rnn) rnn_forward_row(H, i, g, bi, bh, a.h + o, sv);
    else if (s.cell == Cell::gru) gru_forward_row(H, i, g, bi, bh, a.h_prev + o, a.h + o, sv);
    else lstm_forward_row(H, i, g, bi, bh, a.c_prev + o, a.h + o, a.c + o, sv);
  }
}

void cell_backward(const CellShape& s, const CellArrays& a) {
  const int64_t B = s.batch, I = s.input, H = s.hidden, GH = s.gates() * H, S = s.saved();
  const bool gru = s.cell == Cell::gru;
  float* dgi = buffer(0, B * GH);
  float* dgh = gru ? buffer(1, B * GH) : dgi;  // rnn and lstm: one gradient for both products
  float *dbi = or_sink(a.db_ih, GH), *dbh = or_sink(a.db_hh, GH);
  const float* dc = or_zeros(a.dc, B * H);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t o = b * H;
    const float* sv = a.saved + b * S;
    if (s.cell == Cell::rnn) rnn_backward_row(H, a.dh + o, sv, dgi + b * GH, dbi, dbh);
    else if (gru) gru_backward_row(H, a.dh + o, a.h_prev + o, sv, dgi + b * GH, dgh + b * GH, a.dh_prev + o,
                                   dbi, dbh);
    else lstm_backward_row(H, a.dh + o, dc + o, a.c_prev + o, sv, dgi + b * GH, a.dc_prev + o, dbi, dbh);
  }
  if (a.dx) sgemm(false, false, B, I, GH, 1.f, dgi, a.w_ih, 0.f, a.dx);
  sgemm(false, false, B, H, GH, 1.f, dgh, a.w_hh, gru ? 1.f : 0.f, a.dh_prev);  // gru: onto dh z
  if (a.dw_ih) sgemm(true, false, GH, I, B, 1.f, dgi, a.x, 1.f, a.dw_ih);
  if (a.dw_hh) sgemm(true, false, GH, H, B, 1.f, dgh, a.h_prev, 1.f, a.dw_hh);
}

}  // namespace singa::cpu
