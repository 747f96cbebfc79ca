#include "conv.h"

#include "common.h"

namespace singa::cpu {

namespace {

using dims = dnnl::memory::dims;
using prop = dnnl::prop_kind;

struct ConvDescs {
  dnnl::memory::desc x, w, b, y;
  dims strides, pad_l, pad_r;
};

// oneDNN sizes the output as (H - k + pad_l + pad_r) / s + 1 in integer arithmetic, which is SINGA's
// floor size with symmetric padding; a last partial window is simply not used.
ConvDescs descs(const ConvShape& s, bool bias) {
  return {plain_md({s.n, s.c, s.h, s.w}), plain_md({s.oc, s.c, s.k, s.k}),
          bias ? plain_md({s.oc}) : dnnl::memory::desc(), plain_md({s.n, s.oc, s.oh(), s.ow()}),
          {s.stride, s.stride}, {s.pad, s.pad}, {s.pad, s.pad}};
}

Key key_of(const ConvShape& s, bool bias) { return {s.n, s.c, s.h, s.w, s.oc, s.k, s.stride, s.pad, bias}; }

dnnl::convolution_forward::primitive_desc forward_pd(const ConvShape& s, bool bias) {
  auto d = descs(s, bias);
  return {engine(), prop::forward_training, dnnl::algorithm::convolution_direct, d.x, d.w, d.b, d.y,
          d.strides, d.pad_l, d.pad_r, user_scratchpad_attr()};
}

struct Fwd {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
};
struct BwdData {
  dnnl::convolution_backward_data::primitive_desc pd;
  dnnl::convolution_backward_data prim;
};
struct BwdWeights {
  dnnl::convolution_backward_weights::primitive_desc pd;
  dnnl::convolution_backward_weights prim;
};

dnnl::memory mem(const dnnl::memory::desc& md, const float* p) {
  return dnnl::memory(md, engine(), const_cast<float*>(p));
}

}  // namespace

void conv_forward(const ConvShape& s, const float* x, const float* w, const float* b, float* y) {
  const bool bias = b != nullptr;
  auto& e = cached<Fwd>(key_of(s, bias), [&] {
    auto pd = forward_pd(s, bias);
    return Fwd{pd, dnnl::convolution_forward(pd)};
  });
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, mem(e.pd.src_desc(), x)},
                                             {DNNL_ARG_WEIGHTS, mem(e.pd.weights_desc(), w)},
                                             {DNNL_ARG_DST, mem(e.pd.dst_desc(), y)}};
  if (bias) args.insert({DNNL_ARG_BIAS, mem(e.pd.bias_desc(), b)});
  run(e.prim, e.pd.scratchpad_desc(), std::move(args));
}

void conv_backward_data(const ConvShape& s, const float* dy, const float* w, float* dx) {
  auto& e = cached<BwdData>(key_of(s, false), [&] {
    auto d = descs(s, false);
    dnnl::convolution_backward_data::primitive_desc pd(
        engine(), dnnl::algorithm::convolution_direct, d.x, d.w, d.y, d.strides, d.pad_l, d.pad_r,
        forward_pd(s, false), user_scratchpad_attr());
    return BwdData{pd, dnnl::convolution_backward_data(pd)};
  });
  run(e.prim, e.pd.scratchpad_desc(),
      {{DNNL_ARG_DIFF_DST, mem(e.pd.diff_dst_desc(), dy)},
       {DNNL_ARG_WEIGHTS, mem(e.pd.weights_desc(), w)},
       {DNNL_ARG_DIFF_SRC, mem(e.pd.diff_src_desc(), dx)}});
}

void conv_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dw, float* db) {
  const bool bias = db != nullptr;
  auto& e = cached<BwdWeights>(key_of(s, bias), [&] {
    auto d = descs(s, bias);
    dnnl::convolution_backward_weights::primitive_desc pd(
        engine(), dnnl::algorithm::convolution_direct, d.x, d.w, d.b, d.y, d.strides, d.pad_l, d.pad_r,
        forward_pd(s, bias), user_scratchpad_attr());
    return BwdWeights{pd, dnnl::convolution_backward_weights(pd)};
  });
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, mem(e.pd.src_desc(), x)},
                                             {DNNL_ARG_DIFF_DST, mem(e.pd.diff_dst_desc(), dy)},
                                             {DNNL_ARG_DIFF_WEIGHTS, mem(e.pd.diff_weights_desc(), dw)}};
  if (bias) args.insert({DNNL_ARG_DIFF_BIAS, mem(e.pd.diff_bias_desc(), db)});
  run(e.prim, e.pd.scratchpad_desc(), std::move(args));
}

}  // namespace singa::cpu
