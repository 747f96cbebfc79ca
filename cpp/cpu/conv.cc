#include "conv.h"

#include <algorithm>

#include "common.h"

namespace singa::cpu {

namespace {

using dims = dnnl::memory::dims;
using prop = dnnl::prop_kind;

// A tensor the caller holds in plain NCHW / OIHW that the primitive may want in a blocked layout
// (oneDNN's fast convolutions use blocked channels). The blocked buffer and the reorder are made once.
struct Staged {
  dnnl::memory::desc user;
  dnnl::memory buf;        // in the primitive's layout; empty when the layouts agree
  dnnl::reorder convert;   // user -> buf for inputs, buf -> user for outputs

  Staged(const dnnl::memory::desc& user_md, const dnnl::memory::desc& prim_md, bool input) : user(user_md) {
    if (user_md == prim_md) return;
    buf = dnnl::memory(prim_md, engine());
    convert = input ? dnnl::reorder(dnnl::reorder::primitive_desc(engine(), user_md, engine(), prim_md))
                    : dnnl::reorder(dnnl::reorder::primitive_desc(engine(), prim_md, engine(), user_md));
  }

  // The primitive's view of a caller's input: the caller's buffer, or a reordered copy of it.
  dnnl::memory in(const float* data) {
    dnnl::memory m(user, engine(), const_cast<float*>(data));
    if (!buf) return m;
    convert.execute(stream(), m, buf);
    return buf;
  }

  // Where the primitive writes an output; finish() then moves it into the caller's buffer.
  dnnl::memory out(float* data) { return buf ? buf : dnnl::memory(user, engine(), data); }
  void finish(float* data) {
    if (!buf) return;
    dnnl::memory m(user, engine(), data);
    convert.execute(stream(), buf, m);
    stream().wait();
  }
};

struct ConvDescs {
  dnnl::memory::desc x, w, b, y;
  dims strides, pad_l, pad_r;
};

dnnl::memory::desc any(const dims& d) {
  return dnnl::memory::desc(d, dnnl::memory::data_type::f32, dnnl::memory::format_tag::any);
}

// oneDNN sizes the output as (H - k + pad_l + pad_r) / s + 1 in integer arithmetic, which is SINGA's
// floor size with symmetric padding; a last partial window is simply not used. Layouts are left to
// oneDNN (format `any`) or channels-last; Staged converts from and to the caller's plain arrays.
ConvDescs descs(const ConvShape& s, bool bias) {
  // oneDNN's blocked layouts pad channels to blocks of 16: with filters that do not fill their blocks
  // (LeNet's 20 and 50) channels-last wastes nothing and runs ~1.5x faster; otherwise blocked is faster
  auto act = [&](const dims& d) {
    return s.oc % 16 ? dnnl::memory::desc(d, dnnl::memory::data_type::f32, dnnl::memory::format_tag::nhwc)
                     : any(d);
  };
  return {act({s.n, s.c, s.h, s.w}), any({s.oc, s.c, s.k, s.k}),
          bias ? plain_md({s.oc}) : dnnl::memory::desc(), act({s.n, s.oc, s.oh(), s.ow()}),
          {s.stride, s.stride}, {s.pad, s.pad}, {s.pad, s.pad}};
}

dnnl::memory::desc x_md(const ConvShape& s, ConvLayouts l) { return act_md({s.n, s.c, s.h, s.w}, l.x_nhwc); }
dnnl::memory::desc w_md(const ConvShape& s) { return plain_md({s.oc, s.c, s.k, s.k}); }
dnnl::memory::desc y_md(const ConvShape& s, ConvLayouts l) {
  return act_md({s.n, s.oc, s.oh(), s.ow()}, l.y_nhwc);
}

Key key_of(const ConvShape& s, bool bias, ConvLayouts l) {
  return {s.n, s.c, s.h, s.w, s.oc, s.k, s.stride, s.pad, bias, l.x_nhwc, l.y_nhwc};
}

dnnl::convolution_forward::primitive_desc forward_pd(const ConvShape& s, bool bias) {
  auto d = descs(s, bias);
  return {engine(), prop::forward_training, dnnl::algorithm::convolution_direct, d.x, d.w, d.b, d.y,
          d.strides, d.pad_l, d.pad_r, user_scratchpad_attr()};
}

struct Fwd {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  Staged x, w, y;
};
struct BwdData {
  dnnl::convolution_backward_data::primitive_desc pd;
  dnnl::convolution_backward_data prim;
  Staged dy, w, dx;
};
struct BwdWeights {
  dnnl::convolution_backward_weights::primitive_desc pd;
  dnnl::convolution_backward_weights prim;
  Staged x, dy, dw;
};

dnnl::memory mem(const dnnl::memory::desc& md, const float* p) {
  return dnnl::memory(md, engine(), const_cast<float*>(p));
}

// The offset of (image i, channel o, pixel p) in an activation of `channels` channels and `plane` pixels.
int64_t at(bool nhwc, int64_t i, int64_t o, int64_t p, int64_t channels, int64_t plane) {
  return nhwc ? (i * plane + p) * channels + o : (i * channels + o) * plane + p;
}

// db[oc] = sum of dy over n, oh, ow, for the shapes oneDNN is not asked to handle.
void bias_grad(const ConvShape& s, const float* dy, float* db, bool nhwc) {
  const int64_t plane = s.oh() * s.ow();
  for (int64_t o = 0; o < s.oc; ++o) {
    double sum = 0;
    for (int64_t i = 0; i < s.n; ++i)
      for (int64_t p = 0; p < plane; ++p) sum += dy[at(nhwc, i, o, p, s.oc, plane)];
    db[o] = static_cast<float>(sum);
  }
}

}  // namespace

void conv_forward(const ConvShape& s, const float* x, const float* w, const float* b, float* y,
                  ConvLayouts l) {
  if (s.y_size() == 0) return;
  if (s.x_size() == 0) {  // no input channels (or an empty image): y is the bias alone
    const int64_t plane = s.oh() * s.ow();
    for (int64_t i = 0; i < s.n; ++i)
      for (int64_t o = 0; o < s.oc; ++o)
        for (int64_t p = 0; p < plane; ++p) y[at(l.y_nhwc, i, o, p, s.oc, plane)] = b ? b[o] : 0.f;
    return;
  }
  const bool bias = b != nullptr;
  auto& e = cached<Fwd>(key_of(s, bias, l), [&] {
    auto pd = forward_pd(s, bias);
    return Fwd{pd, dnnl::convolution_forward(pd), Staged(x_md(s, l), pd.src_desc(), true),
               Staged(w_md(s), pd.weights_desc(), true), Staged(y_md(s, l), pd.dst_desc(), false)};
  });
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, e.x.in(x)}, {DNNL_ARG_WEIGHTS, e.w.in(w)}, {DNNL_ARG_DST, e.y.out(y)}};
  if (bias) args.insert({DNNL_ARG_BIAS, mem(e.pd.bias_desc(), b)});
  run(e.prim, e.pd.scratchpad_desc(), std::move(args));
  e.y.finish(y);
}

void conv_backward_data(const ConvShape& s, const float* dy, const float* w, float* dx, ConvLayouts l) {
  if (s.x_size() == 0) return;
  if (s.y_size() == 0 || s.w_size() == 0) {  // no filters: nothing flows back
    std::fill(dx, dx + s.x_size(), 0.f);
    return;
  }
  auto& e = cached<BwdData>(key_of(s, false, l), [&] {
    auto d = descs(s, false);
    dnnl::convolution_backward_data::primitive_desc pd(
        engine(), dnnl::algorithm::convolution_direct, d.x, d.w, d.y, d.strides, d.pad_l, d.pad_r,
        forward_pd(s, false), user_scratchpad_attr());
    return BwdData{pd, dnnl::convolution_backward_data(pd), Staged(y_md(s, l), pd.diff_dst_desc(), true),
                   Staged(w_md(s), pd.weights_desc(), true), Staged(x_md(s, l), pd.diff_src_desc(), false)};
  });
  run(e.prim, e.pd.scratchpad_desc(),
      {{DNNL_ARG_DIFF_DST, e.dy.in(dy)}, {DNNL_ARG_WEIGHTS, e.w.in(w)}, {DNNL_ARG_DIFF_SRC, e.dx.out(dx)}});
  e.dx.finish(dx);
}

void conv_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dw, float* db,
                           ConvLayouts l) {
  if (s.w_size() == 0 || s.x_size() == 0 || s.y_size() == 0) {  // an empty batch, or no channels
    std::fill(dw, dw + s.w_size(), 0.f);
    if (db) bias_grad(s, dy, db, l.y_nhwc);
    return;
  }
  const bool bias = db != nullptr;
  auto& e = cached<BwdWeights>(key_of(s, bias, l), [&] {
    auto d = descs(s, bias);
    dnnl::convolution_backward_weights::primitive_desc pd(
        engine(), dnnl::algorithm::convolution_direct, d.x, d.w, d.b, d.y, d.strides, d.pad_l, d.pad_r,
        forward_pd(s, bias), user_scratchpad_attr());
    return BwdWeights{pd, dnnl::convolution_backward_weights(pd), Staged(x_md(s, l), pd.src_desc(), true),
                      Staged(y_md(s, l), pd.diff_dst_desc(), true),
                      Staged(w_md(s), pd.diff_weights_desc(), false)};
  });
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, e.x.in(x)}, {DNNL_ARG_DIFF_DST, e.dy.in(dy)}, {DNNL_ARG_DIFF_WEIGHTS, e.dw.out(dw)}};
  if (bias) args.insert({DNNL_ARG_DIFF_BIAS, mem(e.pd.diff_bias_desc(), db)});
  run(e.prim, e.pd.scratchpad_desc(), std::move(args));
  e.dw.finish(dw);
}

}  // namespace singa::cpu
