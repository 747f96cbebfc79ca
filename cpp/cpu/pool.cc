#include "pool.h"

#include "common.h"

namespace singa::cpu {

namespace {

using dims = dnnl::memory::dims;

dnnl::algorithm algorithm_of(const PoolShape& s) {
  return s.max ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_exclude_padding;
}

dnnl::pooling_forward::primitive_desc forward_pd(const PoolShape& s, bool nhwc) {
  return {engine(), dnnl::prop_kind::forward_training, algorithm_of(s), act_md({s.n, s.c, s.h, s.w}, nhwc),
          act_md({s.n, s.c, s.oh(), s.ow()}, nhwc), dims{s.stride, s.stride}, dims{s.k, s.k}, dims{0, 0},
          dims{0, 0}, dims{0, 0}, user_scratchpad_attr()};
}

struct Fwd {
  dnnl::pooling_forward::primitive_desc pd;
  dnnl::pooling_forward prim;
};
struct Bwd {
  dnnl::pooling_backward::primitive_desc pd;
  dnnl::pooling_backward prim;
};

Key key_of(const PoolShape& s, bool nhwc) { return {s.n, s.c, s.h, s.w, s.k, s.stride, s.max, nhwc}; }

Fwd& fwd(const PoolShape& s, bool nhwc) {
  return cached<Fwd>(key_of(s, nhwc), [&] {
    auto pd = forward_pd(s, nhwc);
    return Fwd{pd, dnnl::pooling_forward(pd)};
  });
}

dnnl::memory mem(const dnnl::memory::desc& md, const void* p) {
  return dnnl::memory(md, engine(), const_cast<void*>(p));
}

}  // namespace

size_t pool_workspace_bytes(const PoolShape& s, bool nhwc) {
  return fwd(s, nhwc).pd.workspace_desc().get_size();
}

void pool_forward(const PoolShape& s, const float* x, float* y, void* ws, bool nhwc) {
  if (s.y_size() == 0) return;  // oneDNN refuses to run on an empty batch
  auto& e = fwd(s, nhwc);
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, mem(e.pd.src_desc(), x)},
                                             {DNNL_ARG_DST, mem(e.pd.dst_desc(), y)}};
  if (e.pd.workspace_desc().get_size()) args.insert({DNNL_ARG_WORKSPACE, mem(e.pd.workspace_desc(), ws)});
  run(e.prim, e.pd.scratchpad_desc(), std::move(args));
}

void pool_backward(const PoolShape& s, const float* dy, const void* ws, float* dx, bool nhwc) {
  if (s.x_size() == 0) return;
  auto& e = cached<Bwd>(key_of(s, nhwc), [&] {
    auto f = forward_pd(s, nhwc);
    dnnl::pooling_backward::primitive_desc pd(engine(), algorithm_of(s), f.src_desc(), f.dst_desc(),
                                              dims{s.stride, s.stride}, dims{s.k, s.k}, dims{0, 0},
                                              dims{0, 0}, dims{0, 0}, f, user_scratchpad_attr());
    return Bwd{pd, dnnl::pooling_backward(pd)};
  });
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_DIFF_DST, mem(e.pd.diff_dst_desc(), dy)},
                                             {DNNL_ARG_DIFF_SRC, mem(e.pd.diff_src_desc(), dx)}};
  if (e.pd.workspace_desc().get_size()) args.insert({DNNL_ARG_WORKSPACE, mem(e.pd.workspace_desc(), ws)});
  run(e.prim, e.pd.scratchpad_desc(), std::move(args));
}

}  // namespace singa::cpu
