#include "common.h"

#include <omp.h>

#include <unordered_map>

namespace singa::cpu {

using tag = dnnl::memory::format_tag;

dnnl::engine& engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

void* scratch(size_t bytes) {
  thread_local std::vector<uint8_t> buf;
  if (buf.size() < bytes) buf.resize(bytes);
  return buf.data();
}

dnnl::primitive_attr user_scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

void run(const dnnl::primitive& p, const dnnl::memory::desc& scratch_md,
         std::unordered_map<int, dnnl::memory> args) {
  args.insert({DNNL_ARG_SCRATCHPAD, dnnl::memory(scratch_md, engine(), scratch(scratch_md.get_size()))});
  p.execute(stream(), args);
  stream().wait();
}

int num_threads_for_key() { return omp_get_max_threads(); }

static tag plain_tag(size_t ndims) {
  switch (ndims) {
    case 1: return tag::a;
    case 2: return tag::ab;
    case 3: return tag::abc;
    case 4: return tag::abcd;
    default: return tag::abcde;
  }
}

dnnl::memory::desc plain_md(const dnnl::memory::dims& dims) {
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, plain_tag(dims.size()));
}

dnnl::memory::desc act_md(const dnnl::memory::dims& dims, bool nhwc) {
  return nhwc ? dnnl::memory::desc(dims, dnnl::memory::data_type::f32, tag::nhwc) : plain_md(dims);
}

dnnl::memory plain(const dnnl::memory::dims& dims, const void* data) {
  return dnnl::memory(plain_md(dims), engine(), const_cast<void*>(data));
}

void set_num_threads(int n) { omp_set_num_threads(n); }
int get_num_threads() { return omp_get_max_threads(); }

SerialBelow::SerialBelow(int64_t n, int64_t min) {
  if (n >= min || omp_get_max_threads() == 1) return;
  saved_ = omp_get_max_threads();
  omp_set_num_threads(1);
}

SerialBelow::~SerialBelow() {
  if (saved_) omp_set_num_threads(saved_);
}

}  // namespace singa::cpu
