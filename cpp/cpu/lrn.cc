#include "lrn.h"

#include <cstring>

#include "common.h"

namespace singa::cpu {

namespace {

// oneDNN's across-channel LRN divides alpha by local_size itself, matching SINGA's normaliser.
dnnl::lrn_forward::primitive_desc forward_pd(const LrnShape& s) {
  auto md = plain_md({s.n, s.c, s.h, s.w});
  return {engine(), dnnl::prop_kind::forward_training, dnnl::algorithm::lrn_across_channels, md, md,
          s.local_size, s.alpha, s.beta, s.knorm, user_scratchpad_attr()};
}

struct Fwd {
  dnnl::lrn_forward::primitive_desc pd;
  dnnl::lrn_forward prim;
};
struct Bwd {
  dnnl::lrn_backward::primitive_desc pd;
  dnnl::lrn_backward prim;
};

int64_t bits(float f) {
  int32_t i;
  std::memcpy(&i, &f, sizeof i);
  return i;
}

Key key_of(const LrnShape& s) {
  return {s.n, s.c, s.h, s.w, s.local_size, bits(s.alpha), bits(s.beta), bits(s.knorm)};
}

Fwd& fwd(const LrnShape& s) {
  return cached<Fwd>(key_of(s), [&] {
    auto pd = forward_pd(s);
    return Fwd{pd, dnnl::lrn_forward(pd)};
  });
}

dnnl::memory mem(const dnnl::memory::desc& md, const void* p) {
  return dnnl::memory(md, engine(), const_cast<void*>(p));
}

}  // namespace

size_t lrn_workspace_bytes(const LrnShape& s) { return fwd(s).pd.workspace_desc().get_size(); }

void lrn_forward(const LrnShape& s, const float* x, float* y, void* ws) {
  auto& e = fwd(s);
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, mem(e.pd.src_desc(), x)},
                                             {DNNL_ARG_DST, mem(e.pd.dst_desc(), y)}};
  if (e.pd.workspace_desc().get_size()) args.insert({DNNL_ARG_WORKSPACE, mem(e.pd.workspace_desc(), ws)});
  run(e.prim, e.pd.scratchpad_desc(), std::move(args));
}

void lrn_backward(const LrnShape& s, const float* x, const float* dy, const void* ws, float* dx) {
  auto& e = cached<Bwd>(key_of(s), [&] {
    auto f = forward_pd(s);
    dnnl::lrn_backward::primitive_desc pd(engine(), dnnl::algorithm::lrn_across_channels, f.src_desc(),
                                          f.dst_desc(), f.src_desc(), s.local_size, s.alpha, s.beta,
                                          s.knorm, f, user_scratchpad_attr());
    return Bwd{pd, dnnl::lrn_backward(pd)};
  });
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, mem(e.pd.src_desc(), x)},
                                             {DNNL_ARG_DIFF_DST, mem(e.pd.diff_dst_desc(), dy)},
                                             {DNNL_ARG_DIFF_SRC, mem(e.pd.diff_src_desc(), dx)}};
  if (e.pd.workspace_desc().get_size()) args.insert({DNNL_ARG_WORKSPACE, mem(e.pd.workspace_desc(), ws)});
  run(e.prim, e.pd.scratchpad_desc(), std::move(args));
}

}  // namespace singa::cpu
