#include "eltwise.h"

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

dnnl::memory mem(const dnnl::memory::desc& md, const float* p) {
  return dnnl::memory(md, engine(), const_cast<float*>(p));
}

}  // namespace

void act_forward(Act a, int64_t n, const float* x, float* y) {
  auto& e = cached<Fwd>({static_cast<int64_t>(a), n}, [&] {
    auto pd = forward_pd(a, n);
    return Fwd{pd, dnnl::eltwise_forward(pd)};
  });
  run(e.prim, e.pd.scratchpad_desc(),
      {{DNNL_ARG_SRC, mem(e.pd.src_desc(), x)}, {DNNL_ARG_DST, mem(e.pd.dst_desc(), y)}});
}

void act_backward(Act a, int64_t n, const float* y, const float* dy, float* dx) {
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

void softmax_forward(int64_t rows, int64_t cols, const float* x, float* y) {
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
