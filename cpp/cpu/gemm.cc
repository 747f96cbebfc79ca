#include "gemm.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "common.h"

namespace singa::cpu {

using dims = dnnl::memory::dims;

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           const float* b, float beta, float* c) {
  // dnnl_sgemm refuses a leading dimension of 0, which an empty A or B has: C = beta C by hand.
  if (m == 0 || n == 0) return;
  if (k == 0) {
    const int64_t count = m * n;
    if (beta == 0.f) {
      std::fill(c, c + count, 0.f);
    } else if (beta != 1.f) {
      for (int64_t i = 0; i < count; ++i) c[i] *= beta;  // an edge case: not worth waking the team
    }
    return;
  }
  const int64_t lda = trans_a ? m : k, ldb = trans_b ? k : n;
  SerialBelow serial(m * n * k, kParallelMinMacs);
  dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb,
                                beta, c, n);
  if (st != dnnl_success) throw std::runtime_error("dnnl_sgemm failed with status " + std::to_string(st));
}

namespace {

struct MatmulEntry {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
  dnnl::memory::desc a_md, b_md, bias_md, c_md;
};

// A transposed operand is described by strides, so no copy is made.
dnnl::memory::desc operand_md(int64_t rows, int64_t cols, bool trans) {
  return dnnl::memory::desc({rows, cols}, dnnl::memory::data_type::f32,
                            trans ? dims{1, rows} : dims{cols, 1});
}

MatmulEntry make_matmul(bool ta, bool tb, int64_t m, int64_t n, int64_t k, bool has_bias) {
  auto a_md = operand_md(m, k, ta), b_md = operand_md(k, n, tb);
  auto c_md = plain_md({m, n});
  auto bias_md = has_bias ? plain_md({1, n}) : dnnl::memory::desc();
  auto attr = user_scratchpad_attr();
  auto pd = has_bias ? dnnl::matmul::primitive_desc(engine(), a_md, b_md, bias_md, c_md, attr)
                     : dnnl::matmul::primitive_desc(engine(), a_md, b_md, c_md, attr);
  return {pd, dnnl::matmul(pd), a_md, b_md, bias_md, c_md};
}

MatmulEntry& matmul_entry(bool ta, bool tb, int64_t m, int64_t n, int64_t k, bool bias) {
  return cached<MatmulEntry>({ta, tb, m, n, k, bias}, [&] { return make_matmul(ta, tb, m, n, k, bias); });
}

void execute(MatmulEntry& e, const float* a, const float* b, const float* bias, float* c) {
  auto& eng = engine();
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, dnnl::memory(e.a_md, eng, const_cast<float*>(a))},
      {DNNL_ARG_WEIGHTS, dnnl::memory(e.b_md, eng, const_cast<float*>(b))},
      {DNNL_ARG_DST, dnnl::memory(e.c_md, eng, c)}};
  if (bias) args.insert({DNNL_ARG_BIAS, dnnl::memory(e.bias_md, eng, const_cast<float*>(bias))});
  run(e.prim, e.pd.scratchpad_desc(), std::move(args));
}

// C[m,n] = A B^T (+ bias) with few rows m (a batch) and many columns n (features) runs 15-25 % faster in
// oneDNN as C^T = B A^T, the weights B then streaming as the left operand: computed so into a buffer of
// the thread's, then transposed into C in cache-sized tiles, adding the bias on the way (oneDNN's matmul
// adds a per-row bias only in its slow reference code).
bool swap_operands(bool ta, bool tb, int64_t m, int64_t n) { return !ta && tb && m * 8 <= n; }

// c[m, n] = t^T (+ bias[n] on every row), t being n x m.
void transpose_into(int64_t m, int64_t n, const float* t, const float* bias, float* c) {
  constexpr int64_t kTile = 32;
  for (int64_t j0 = 0; j0 < n; j0 += kTile)
    for (int64_t i0 = 0; i0 < m; i0 += kTile)
      for (int64_t i = i0; i < std::min(i0 + kTile, m); ++i)
        for (int64_t j = j0; j < std::min(j0 + kTile, n); ++j)
          c[i * n + j] = t[j * m + i] + (bias ? bias[j] : 0.f);
}

void swapped_matmul(int64_t m, int64_t n, int64_t k, const float* a, const float* b, const float* bias,
                    float* c) {
  thread_local std::vector<float> t;
  t.resize(static_cast<size_t>(m * n));
  // B is stored n x k (row-major): the left operand as it is; A^T is A (m x k) seen through strides
  execute(matmul_entry(false, true, n, m, k, false), b, a, nullptr, t.data());
  transpose_into(m, n, t.data(), bias, c);
}

}  // namespace

void matmul(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, const float* b,
            const float* bias, float* c) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // oneDNN leaves C as it was: C is the bias alone
    for (int64_t i = 0; i < m; ++i) {
      float* row = c + i * n;
      if (bias) std::copy(bias, bias + n, row);
      else std::fill(row, row + n, 0.f);
    }
    return;
  }
  SerialBelow serial(m * n * k, kParallelMinMacs);
  if (swap_operands(trans_a, trans_b, m, n)) {
    swapped_matmul(m, n, k, a, b, bias, c);
    return;
  }
  execute(matmul_entry(trans_a, trans_b, m, n, k, bias != nullptr), a, b, bias, c);
}

}  // namespace singa::cpu
