#include "lrn.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "common.h"

// oneDNN runs across-channel LRN on plain NCHW only in its reference implementation (~100x slower
// than memory speed here), so this is a direct OpenMP loop over channel planes: every channel's
// window is a few contiguous planes, and the inner loops are unit-stride and vectorise.
namespace singa::cpu {

namespace {

// norm^-beta, with the common beta = 0.75 as 1 / sqrt(norm * sqrt(norm)) (no exp/log per element).
void power(int64_t n, float beta, const float* norm, float* out) {
  if (beta == 0.75f) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = 1.f / std::sqrt(norm[i] * std::sqrt(norm[i]));
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = std::pow(norm[i], -beta);
  }
}

// out[p] = sum over channels c' in c's window of in[c'][p], for one image's planes of `plane` values.
void window_sum(const LrnShape& s, const float* in, int64_t c, int64_t plane, float* out, bool square) {
  const int64_t half = s.local_size / 2, lo = std::max<int64_t>(0, c - half);
  const int64_t hi = std::min<int64_t>(s.c - 1, c + half);
  std::fill(out, out + plane, 0.f);
  for (int64_t k = lo; k <= hi; ++k) {
    const float* src = in + k * plane;
    if (square) {
#pragma omp simd
      for (int64_t p = 0; p < plane; ++p) out[p] += src[p] * src[p];
    } else {
#pragma omp simd
      for (int64_t p = 0; p < plane; ++p) out[p] += src[p];
    }
  }
}

}  // namespace

// The workspace holds norm = knorm + alpha/size * window sum of x^2, then norm^-beta.
size_t lrn_workspace_bytes(const LrnShape& s) { return 2 * sizeof(float) * s.n * s.c * s.h * s.w; }

void lrn_forward(const LrnShape& s, const float* x, float* y, void* ws) {
  if (s.size() == 0) return;
  const int64_t plane = s.h * s.w, total = s.n * s.c * plane;
  float* norm = static_cast<float*>(ws);
  float* scale = norm + total;
  const float a = s.alpha / static_cast<float>(s.local_size);
#pragma omp parallel for schedule(static)
  for (int64_t nc = 0; nc < s.n * s.c; ++nc) {
    const int64_t n = nc / s.c, c = nc % s.c, at = nc * plane;
    float* nm = norm + at;
    window_sum(s, x + n * s.c * plane, c, plane, nm, true);
#pragma omp simd
    for (int64_t p = 0; p < plane; ++p) nm[p] = s.knorm + a * nm[p];
    power(plane, s.beta, nm, scale + at);
#pragma omp simd
    for (int64_t p = 0; p < plane; ++p) y[at + p] = x[at + p] * scale[at + p];
  }
}

// dx = dy * norm^-beta - 2 alpha beta / size * x * window sum of (dy * x * norm^(-beta-1)).
void lrn_backward(const LrnShape& s, const float* x, const float* dy, const void* ws, float* dx) {
  if (s.size() == 0) return;
  const int64_t plane = s.h * s.w, total = s.n * s.c * plane;
  const float* norm = static_cast<const float*>(ws);
  const float* scale = norm + total;
  float* t = static_cast<float*>(scratch(total * sizeof(float)));
  const float coef = 2.f * s.alpha * s.beta / static_cast<float>(s.local_size);
#pragma omp parallel
  {
#pragma omp for schedule(static)
    for (int64_t i = 0; i < total; ++i) t[i] = dy[i] * x[i] * scale[i] / norm[i];
#pragma omp for schedule(static)
    for (int64_t nc = 0; nc < s.n * s.c; ++nc) {
      const int64_t n = nc / s.c, c = nc % s.c, at = nc * plane;
      float* out = dx + at;
      window_sum(s, t + n * s.c * plane, c, plane, out, false);
#pragma omp simd
      for (int64_t p = 0; p < plane; ++p) out[p] = dy[at + p] * scale[at + p] - coef * x[at + p] * out[p];
    }
  }
}

}  // namespace singa::cpu
