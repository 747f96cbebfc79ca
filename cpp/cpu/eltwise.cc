#include "eltwise.h"

#include <cstring>

#include "common.h"

namespace singa::cpu {

namespace {

// The *_use_dst_for_bwd variants let backward run from the output, so layers need not keep inputs.
dnnl::algorithm algorithm_of(Act a) {
  switch (a) {
    case Act::relu: return dnnl::algorithm::eltwise_relu_use_dst_for_bwd;
    case Act::tanh: return dnnl::algorithm::eltwise_tanh_use_dst_for_bwd;
    default: return dnnl::algorithm::eltwise_logistic_use_dst_for_bwd;
  }
}

dnnl::eltwise_forward::primitive_desc forward_pd(Act a, int64_t n) {
  auto md = plain_md({n});
  return {engine(), dnnl::prop_kind::forward_training, algorithm_of(a), md, md, 0.f, 0.f,
          user_scratchpad_attr()};
}

struct Fwd {
  dnnl::eltwise_forward::primitive_desc pd;
  dnnl::eltwise_forward prim;
};
struct Bwd {
  dnnl::eltwise_backward::primitive_desc pd;
  dnnl::eltwise_backward prim;
};
struct Softmax {
  dnnl::softmax_forward::primitive_desc pd;
  dnnl::softmax_forward prim;
};

int64_t bits(float f) {
  int32_t i;
  std::memcpy(&i, &f, sizeof i);
  return i;
}

dnnl::memory mem(const dnnl::memory::desc& md, const float* p) {
  return dnnl::memory(md, engine(), const_cast<float*>(p));
}

}  // namespace

void act_forward(Act a, int64_t n, const float* x, float* y) {
  if (n == 0) return;
  SerialBelow serial(n);
  auto& e = cached<Fwd>({static_cast<int64_t>(a), n}, [&] {
    auto pd = forward_pd(a, n);
    return Fwd{pd, dnnl::eltwise_forward(pd)};
  });
  run(e.prim, e.pd.scratchpad_desc(),
      {{DNNL_ARG_SRC, mem(e.pd.src_desc(), x)}, {DNNL_ARG_DST, mem(e.pd.dst_desc(), y)}});
}

void act_backward(Act a, int64_t n, const float* y, const float* dy, float* dx) {
  if (n == 0) return;
  SerialBelow serial(n);
  auto& e = cached<Bwd>({static_cast<int64_t>(a), n}, [&] {
    auto md = plain_md({n});
    dnnl::eltwise_backward::primitive_desc pd(engine(), algorithm_of(a), md, md, md, 0.f, 0.f,
                                              forward_pd(a, n), user_scratchpad_attr());
    return Bwd{pd, dnnl::eltwise_backward(pd)};
  });
  run(e.prim, e.pd.scratchpad_desc(),
      {{DNNL_ARG_DST, mem(e.pd.dst_desc(), y)},
       {DNNL_ARG_DIFF_DST, mem(e.pd.diff_dst_desc(), dy)},
       {DNNL_ARG_DIFF_SRC, mem(e.pd.diff_src_desc(), dx)}});
}

namespace {

// An eltwise primitive of `alg` (alpha, beta) over n values, made once per thread and shape.
Fwd& plain_eltwise(dnnl::algorithm alg, int64_t n, float alpha, float beta) {
  return cached<Fwd>({100 + static_cast<int64_t>(alg), n, bits(alpha), bits(beta)}, [&] {
    auto md = plain_md({n});
    dnnl::eltwise_forward::primitive_desc pd(engine(), dnnl::prop_kind::forward_inference, alg, md, md, alpha,
                                             beta, user_scratchpad_attr());
    return Fwd{pd, dnnl::eltwise_forward(pd)};
  });
}

void eltwise(Fwd& e, const float* x, float* y) {
  run(e.prim, e.pd.scratchpad_desc(),
      {{DNNL_ARG_SRC, mem(e.pd.src_desc(), x)}, {DNNL_ARG_DST, mem(e.pd.dst_desc(), y)}});
}

// dx = dy (ab - ba y^2) over [begin, end); the scalars are arguments so that the loop vectorises.
void stanh_backward_block(int64_t begin, int64_t end, float ab, float ba, const float* y, const float* dy,
                          float* dx) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) dx[i] = dy[i] * (ab - ba * y[i] * y[i]);
}

}  // namespace

// SINGA's STanh, a * tanh(b * x): three jit eltwise passes (scale, tanh, scale), the last two in place
// on y, which the layers keep in cache-sized buffers. (Post-ops would fuse them, but oneDNN runs an
// eltwise with post-ops in its reference implementation.)
void stanh_forward(int64_t n, float a, float b, const float* x, float* y) {
  if (n == 0) return;
  SerialBelow serial(n);
  eltwise(plain_eltwise(dnnl::algorithm::eltwise_linear, n, b, 0.f), x, y);
  eltwise(plain_eltwise(dnnl::algorithm::eltwise_tanh, n, 0.f, 0.f), y, y);
  eltwise(plain_eltwise(dnnl::algorithm::eltwise_linear, n, a, 0.f), y, y);
}

// From y = a tanh(b x): dy/dx = a b (1 - tanh^2) = a b - (b / a) y^2, so backward needs only y.
void stanh_backward(int64_t n, float a, float b, const float* y, const float* dy, float* dx) {
  const float ab = a * b, ba = b / a;
  for_each_block(n, [&](int64_t b, int64_t e) { stanh_backward_block(b, e, ab, ba, y, dy, dx); });
}

void softmax_forward(int64_t rows, int64_t cols, const float* x, float* y) {
  if (rows == 0 || cols == 0) return;
  SerialBelow serial(rows * cols);
  auto& e = cached<Softmax>({rows, cols}, [&] {
    auto md = plain_md({rows, cols});
    dnnl::softmax_forward::primitive_desc pd(engine(), dnnl::prop_kind::forward_inference,
                                             dnnl::algorithm::softmax_accurate, md, md, 1,
                                             user_scratchpad_attr());
    return Softmax{pd, dnnl::softmax_forward(pd)};
  });
  run(e.prim, e.pd.scratchpad_desc(),
      {{DNNL_ARG_SRC, mem(e.pd.src_desc(), x)}, {DNNL_ARG_DST, mem(e.pd.dst_desc(), y)}});
}

}  // namespace singa::cpu
