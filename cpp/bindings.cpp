// The one binding file: registers the kernels of cpu/ (and cuda/ when built) with Python. Arrays are
// NumPy float32, C-contiguous; outputs are caller-provided. Every kernel runs without the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <type_traits>
#include <vector>

#include "cpu/common.h"
#include "cpu/conv.h"
#include "cpu/eltwise.h"
#include "cpu/gemm.h"
#include "cpu/lrn.h"
#include "cpu/pool.h"
#include "cpu/rnn.h"
#include "cpu/update.h"
#ifdef SINGA_WITH_CUDA
#include "cuda/kernels.h"
#endif

namespace py = pybind11;
using singa::Act;
using singa::Cell;
using singa::CellArrays;
using singa::CellShape;
using singa::ConvLayouts;
using singa::ConvShape;
using singa::LrnShape;
using singa::PoolShape;
using Shape = std::vector<int64_t>;

namespace {

// Every binding runs in two phases. With the GIL held it checks its arrays and takes from them what the
// kernel needs: data pointers, shapes and sizes, as plain values (F32, the *Shape structs). Then
// run_without_gil() releases the GIL and calls the kernel with those values alone, so no Python object is
// read, created or released (no reference count changes, no Python exception) without the GIL.

struct F32 {
  float* p;
  Shape shape;
  int64_t size;       // the number of elements
  bool nhwc = false;    // a 4-D array held channels-last (NHWC in memory, NCHW in shape)
  bool either = false;  // both layouts are the same memory (C = 1, or H = W = 1)
};

std::string show(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + ")";
}

// A float32 array's data, shape and size, whatever its strides; `name` is the argument named in errors.
F32 any_f32(const py::array& a, const char* name, bool out) {
  if (!a.dtype().is(py::dtype::of<float>()))
    throw py::value_error(std::string(name) + ": expected float32, got " + std::string(py::str(a.dtype())));
  if (out && !a.writeable()) throw py::value_error(std::string(name) + ": output array is read-only");
  return {static_cast<float*>(const_cast<void*>(a.data())), Shape(a.shape(), a.shape() + a.ndim()),
          static_cast<int64_t>(a.size())};
}

// Whether a 4-D array (N, C, H, W) lies in memory as NHWC (the strides of 1-sized dims do not matter).
bool channels_last(const py::array& a) {
  if (a.ndim() != 4) return false;
  const auto* d = a.shape();
  const auto* st = a.strides();
  const py::ssize_t e = sizeof(float), want[4] = {d[1] * d[2] * d[3] * e, e, d[3] * d[1] * e, d[1] * e};
  for (int i = 0; i < 4; ++i)
    if (d[i] > 1 && st[i] != want[i]) return false;
  return true;
}

F32 with_shape(F32 r, const char* name, const Shape& want) {
  if (r.shape != want)
    throw py::value_error(std::string(name) + ": expected shape " + show(want) + ", got " + show(r.shape));
  return r;
}

// A float32 C-contiguous array.
F32 f32(const py::array& a, const char* name, bool out = false) {
  F32 r = any_f32(a, name, out);
  if (!(a.flags() & py::array::c_style)) throw py::value_error(std::string(name) + ": must be C-contiguous");
  return r;
}

F32 f32(const py::array& a, const char* name, const Shape& want, bool out = false) {
  return with_shape(f32(a, name, out), name, want);
}

// A float32 array held densely: C-contiguous, or (4-D) channels-last.
F32 dense(const py::array& a, const char* name, bool out = false) {
  F32 r = any_f32(a, name, out);
  const bool nhwc = channels_last(a);
  if (a.flags() & py::array::c_style) {
    r.either = nhwc;
    return r;
  }
  if (!nhwc)
    throw py::value_error(std::string(name) + ": must be C-contiguous or channels-last (NHWC in memory)");
  r.nhwc = true;
  return r;
}

F32 dense(const py::array& a, const char* name, const Shape& want, bool out = false) {
  return with_shape(dense(a, name, out), name, want);
}

// Arrays a kernel reads as one layout (element-wise ones: as flat buffers) must lie in memory the same way.
void same_layout(const F32& a, const F32& b, const char* name) {
  if (a.nhwc != b.nhwc && !a.either && !b.either)
    throw py::value_error(std::string(name) + ": memory layout (NCHW / NHWC) differs from x's");
}

// The byte a pooling workspace ends with: which layout filled it (0: none yet).
uint8_t layout_mark(bool nhwc) { return nhwc ? 2 : 1; }

// Whether a pair that shares one layout is channels-last (the definite one of the two decides).
bool nhwc_of(const F32& a, const F32& b) { return a.either ? b.nhwc : a.nhwc; }

// An optional float32 array: None gives a null pointer.
float* opt_f32(const py::object& a, const char* name, const Shape& want, bool out = false) {
  return a.is_none() ? nullptr : f32(a.cast<py::array>(), name, want, out).p;
}

void* workspace(const py::array& ws, size_t need) {
  if (static_cast<size_t>(ws.nbytes()) < need || !(ws.flags() & py::array::c_style))
    throw py::value_error("ws: workspace needs " + std::to_string(need) + " contiguous bytes, got " +
                          std::to_string(ws.nbytes()));
  return const_cast<void*>(ws.data());
}

// A float32 4-D array: C-contiguous NCHW, or channels-last too where `nhwc_ok`.
F32 image(const py::array& x, const char* name, bool out = false, bool nhwc_ok = false) {
  F32 a = nhwc_ok ? dense(x, name, out) : f32(x, name, out);
  if (a.shape.size() != 4) throw py::value_error(std::string(name) + ": expected NCHW, got " + show(a.shape));
  return a;
}
F32 nchw(const py::array& x, const char* name, bool out = false) { return image(x, name, out); }

// Release the GIL and run `kernel(args...)`. The arguments are evaluated by the caller, with the GIL held;
// none may be a Python object (a handle's copy or destruction would change a reference count unguarded).
template <class Kernel, class... Args>
auto run_without_gil(Kernel kernel, Args... args) {
  static_assert((!std::is_base_of_v<py::handle, Args> && ...), "a kernel must not receive Python objects");
  static_assert((!std::is_same_v<Args, PyObject*> && ...), "a kernel must not receive Python objects");
  py::gil_scoped_release nogil;
  return kernel(args...);
}

ConvShape conv_shape(const Shape& x, const Shape& w, int64_t stride, int64_t pad) {
  if (w.size() != 4 || w[1] != x[1] || w[2] != w[3])
    throw py::value_error("w: expected (filters, " + std::to_string(x[1]) + ", k, k), got " + show(w));
  ConvShape s{x[0], x[1], x[2], x[3], w[0], w[2], stride, pad};
  if (s.k < 1 || stride < 1 || pad < 0 || s.oh() < 1 || s.ow() < 1)
    throw py::value_error("convolution: kernel, stride or pad do not fit input " + show(x));
  return s;
}

void need4(const Shape& x) {
  if (x.size() != 4) throw py::value_error("expected an NCHW shape, got " + show(x));
}

PoolShape pool_shape(const Shape& x, int64_t k, int64_t stride, bool max) {
  need4(x);
  PoolShape s{x[0], x[1], x[2], x[3], k, stride, max};
  if (k < 1 || stride < 1 || k > x[2] || k > x[3])
    throw py::value_error("pooling: kernel " + std::to_string(k) + " does not fit input " + show(x));
  return s;
}

LrnShape lrn_shape(const Shape& x, int64_t size, float alpha, float beta, float knorm) {
  need4(x);
  if (size < 1 || size % 2 == 0) throw py::value_error("lrn: local_size must be odd and positive");
  return {x[0], x[1], x[2], x[3], size, alpha, beta, knorm};
}

Shape conv_out(const ConvShape& s) { return {s.n, s.oc, s.oh(), s.ow()}; }
Shape pool_out(const PoolShape& s) { return {s.n, s.c, s.oh(), s.ow()}; }
Shape gemm_dims(const F32& a, const F32& b, bool ta, bool tb) {
  if (a.shape.size() != 2 || b.shape.size() != 2) throw py::value_error("gemm: operands must be 2-D");
  int64_t m = ta ? a.shape[1] : a.shape[0], k = ta ? a.shape[0] : a.shape[1];
  int64_t kb = tb ? b.shape[1] : b.shape[0], n = tb ? b.shape[0] : b.shape[1];
  if (k != kb)
    throw py::value_error("gemm: inner dimensions differ: " + show(a.shape) + " x " + show(b.shape));
  return {m, n, k};
}

// A recurrent cell's shape, from x (batch, input) and the weights: W_ih (gates * H, input),
// W_hh (gates * H, H).
CellShape cell_shape(int kind, const F32& x, const F32& w_ih, const F32& w_hh) {
  if (kind < 0 || kind > 2)
    throw py::value_error("cell: kind must be 0 (rnn), 1 (gru) or 2 (lstm), got " + std::to_string(kind));
  CellShape s{0, 0, 0, static_cast<Cell>(kind)};
  const std::string gates = std::to_string(s.gates());
  if (w_hh.shape.size() != 2 || w_hh.shape[0] != s.gates() * w_hh.shape[1])
    throw py::value_error("w_hh: expected (" + gates + " * hidden, hidden), got " + show(w_hh.shape));
  if (x.shape.size() != 2) throw py::value_error("x: expected (batch, input), got " + show(x.shape));
  s.hidden = w_hh.shape[1], s.batch = x.shape[0], s.input = x.shape[1];
  with_shape(w_ih, "w_ih", {w_hh.shape[0], s.input});
  return s;
}

// lstm's cell state arrays (c_prev, c, dc, dc_prev): required by an lstm (but dc: None is zero), refused by
// the other cells.
float* cell_state(const py::object& a, const char* name, const CellShape& s, bool out,
                  bool optional = false) {
  const bool lstm = s.cell == Cell::lstm;
  if (!lstm && !a.is_none()) throw py::value_error(std::string(name) + ": only an lstm cell takes it");
  if (lstm && a.is_none() && !optional) throw py::value_error(std::string(name) + ": an lstm cell needs it");
  return opt_f32(a, name, {s.batch, s.hidden}, out);
}

// The kernels whose signatures the CPU and CUDA versions share, registered once per backend.
template <class B>
void register_shared(py::module_& m) {
  m.def("sgemm", [](py::array a, py::array b, py::array c, bool ta, bool tb, float alpha, float beta) {
    F32 A = f32(a, "a"), Bm = f32(b, "b");
    Shape d = gemm_dims(A, Bm, ta, tb);
    F32 C = f32(c, "c", {d[0], d[1]}, true);
    run_without_gil(B::sgemm, ta, tb, d[0], d[1], d[2], alpha, A.p, Bm.p, beta, C.p);
  }, py::arg("a"), py::arg("b"), py::arg("c"), py::arg("trans_a") = false, py::arg("trans_b") = false,
     py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f, "c = alpha * op(a) op(b) + beta * c.");
  // activations NCHW or channels-last, each as the caller holds it (the CUDA twins: NCHW only)
  m.def("conv_forward", [](py::array x, py::array w, py::object b, py::array y, int64_t stride, int64_t pad) {
    F32 X = image(x, "x", false, B::nhwc_ok), W = nchw(w, "w");
    ConvShape s = conv_shape(X.shape, W.shape, stride, pad);
    float* bp = opt_f32(b, "b", {s.oc});
    F32 Y = B::nhwc_ok ? dense(y, "y", conv_out(s), true) : f32(y, "y", conv_out(s), true);
    run_without_gil(B::conv_forward, s, X.p, W.p, bp, Y.p, ConvLayouts{X.nhwc, Y.nhwc});
  }, py::arg("x"), py::arg("w"), py::arg("b"), py::arg("y"), py::arg("stride"), py::arg("pad"));
  m.def("conv_backward_data", [](py::array dy, py::array w, py::array dx, int64_t stride, int64_t pad) {
    F32 DX = image(dx, "dx", true, B::nhwc_ok), W = nchw(w, "w");
    ConvShape s = conv_shape(DX.shape, W.shape, stride, pad);
    F32 DY = B::nhwc_ok ? dense(dy, "dy", conv_out(s)) : f32(dy, "dy", conv_out(s));
    run_without_gil(B::conv_backward_data, s, DY.p, W.p, DX.p, ConvLayouts{DX.nhwc, DY.nhwc});
  }, py::arg("dy"), py::arg("w"), py::arg("dx"), py::arg("stride"), py::arg("pad"));
  m.def("conv_backward_weights", [](py::array x, py::array dy, py::array dw, py::object db, int64_t stride,
                                    int64_t pad) {
    F32 X = image(x, "x", false, B::nhwc_ok), DW = nchw(dw, "dw", true);
    ConvShape s = conv_shape(X.shape, DW.shape, stride, pad);
    F32 DY = B::nhwc_ok ? dense(dy, "dy", conv_out(s)) : f32(dy, "dy", conv_out(s));
    float* dbp = opt_f32(db, "db", {s.oc}, true);
    run_without_gil(B::conv_backward_weights, s, X.p, DY.p, DW.p, dbp, ConvLayouts{X.nhwc, DY.nhwc});
  }, py::arg("x"), py::arg("dy"), py::arg("dw"), py::arg("db"), py::arg("stride"), py::arg("pad"));
  m.def("act_forward", [](int kind, py::array x, py::array y) {
    F32 X = dense(x, "x");
    F32 Y = dense(y, "y", X.shape, true);
    same_layout(X, Y, "y");
    run_without_gil(B::act_forward, static_cast<Act>(kind), X.size, X.p, Y.p);
  }, py::arg("kind"), py::arg("x"), py::arg("y"), "y = f(x); kind 0 relu, 1 tanh, 2 logistic.");
  m.def("act_backward", [](int kind, py::array y, py::array dy, py::array dx) {
    F32 Y = dense(y, "y");
    F32 DY = dense(dy, "dy", Y.shape), DX = dense(dx, "dx", Y.shape, true);
    same_layout(Y, DY, "dy");
    same_layout(Y, DX, "dx");
    run_without_gil(B::act_backward, static_cast<Act>(kind), Y.size, Y.p, DY.p, DX.p);
  }, py::arg("kind"), py::arg("y"), py::arg("dy"), py::arg("dx"), "dx = dy * f'(x), from y = f(x).");
  m.def("softmax_forward", [](py::array x, py::array y) {
    F32 X = f32(x, "x");
    if (X.shape.size() != 2) throw py::value_error("softmax: x must be 2-D, got " + show(X.shape));
    F32 Y = f32(y, "y", X.shape, true);
    run_without_gil(B::softmax_forward, X.shape[0], X.shape[1], X.p, Y.p);
  }, py::arg("x"), py::arg("y"), "Row-wise softmax.");
  // One step of a recurrent cell (kind 0 rnn, 1 gru, 2 lstm; equations in shapes.h). Backward adds into
  // dw_* and db_*, so that backpropagation through time sums them over the steps.
  m.def("cell_forward", [](int kind, py::array x, py::array h_prev, py::object c_prev, py::array w_ih,
                           py::array w_hh, py::object b_ih, py::object b_hh, py::array h, py::object c,
                           py::array saved) {
    F32 X = f32(x, "x"), WI = f32(w_ih, "w_ih"), WH = f32(w_hh, "w_hh");
    const CellShape s = cell_shape(kind, X, WI, WH);
    const Shape state{s.batch, s.hidden}, bias{s.gates() * s.hidden};
    CellArrays a{};
    a.x = X.p, a.w_ih = WI.p, a.w_hh = WH.p;
    a.h_prev = f32(h_prev, "h_prev", state).p;
    a.c_prev = cell_state(c_prev, "c_prev", s, false);
    a.b_ih = opt_f32(b_ih, "b_ih", bias), a.b_hh = opt_f32(b_hh, "b_hh", bias);
    a.h = f32(h, "h", state, true).p;
    a.c = cell_state(c, "c", s, true);
    a.saved = f32(saved, "saved", {s.batch, s.saved()}, true).p;
    run_without_gil(B::cell_forward, s, a);
  }, py::arg("kind"), py::arg("x"), py::arg("h_prev"), py::arg("c_prev"), py::arg("w_ih"), py::arg("w_hh"),
     py::arg("b_ih"), py::arg("b_hh"), py::arg("h"), py::arg("c"), py::arg("saved"));
  m.def("cell_backward", [](int kind, py::array x, py::array h_prev, py::object c_prev, py::array w_ih,
                            py::array w_hh, py::array saved, py::array dh, py::object dc, py::object dx,
                            py::array dh_prev, py::object dc_prev, py::object dw_ih, py::object dw_hh,
                            py::object db_ih, py::object db_hh) {
    F32 X = f32(x, "x"), WI = f32(w_ih, "w_ih"), WH = f32(w_hh, "w_hh");
    const CellShape s = cell_shape(kind, X, WI, WH);
    const Shape state{s.batch, s.hidden}, bias{s.gates() * s.hidden};
    CellArrays a{};
    a.x = X.p, a.w_ih = WI.p, a.w_hh = WH.p;
    a.h_prev = f32(h_prev, "h_prev", state).p;
    a.c_prev = cell_state(c_prev, "c_prev", s, false);
    a.saved = f32(saved, "saved", {s.batch, s.saved()}).p;
    a.dh = f32(dh, "dh", state).p;
    a.dc = cell_state(dc, "dc", s, false, true);
    a.dx = opt_f32(dx, "dx", X.shape, true);
    a.dh_prev = f32(dh_prev, "dh_prev", state, true).p;
    a.dc_prev = cell_state(dc_prev, "dc_prev", s, true);
    a.dw_ih = opt_f32(dw_ih, "dw_ih", WI.shape, true), a.dw_hh = opt_f32(dw_hh, "dw_hh", WH.shape, true);
    a.db_ih = opt_f32(db_ih, "db_ih", bias, true), a.db_hh = opt_f32(db_hh, "db_hh", bias, true);
    run_without_gil(B::cell_backward, s, a);
  }, py::arg("kind"), py::arg("x"), py::arg("h_prev"), py::arg("c_prev"), py::arg("w_ih"), py::arg("w_hh"),
     py::arg("saved"), py::arg("dh"), py::arg("dc"), py::arg("dx"), py::arg("dh_prev"), py::arg("dc_prev"),
     py::arg("dw_ih"), py::arg("dw_hh"), py::arg("db_ih"), py::arg("db_hh"));
}

void register_cpu_only(py::module_& m) {
  namespace cpu = singa::cpu;
  m.def("matmul", [](py::array a, py::array b, py::object bias, py::array c, bool ta, bool tb) {
    F32 A = f32(a, "a"), Bm = f32(b, "b");
    Shape d = gemm_dims(A, Bm, ta, tb);
    float* bp = opt_f32(bias, "bias", {d[1]});
    F32 C = f32(c, "c", {d[0], d[1]}, true);
    run_without_gil(cpu::matmul, ta, tb, d[0], d[1], d[2], A.p, Bm.p, bp, C.p);
  }, py::arg("a"), py::arg("b"), py::arg("bias"), py::arg("c"), py::arg("trans_a") = false,
     py::arg("trans_b") = false, "c = op(a) op(b) + bias (oneDNN matmul primitive).");
  // x and y (dx and dy) both NCHW or both channels-last. The workspace ends with a byte saying which layout
  // its forward ran in: a backward in the other layout would read the argmax wrongly.
  m.def("pool_workspace_bytes", [](Shape x, int64_t k, int64_t stride, bool max, bool nhwc) {
    return cpu::pool_workspace_bytes(pool_shape(x, k, stride, max), nhwc) + 1;
  }, py::arg("x_shape"), py::arg("k"), py::arg("stride"), py::arg("max"), py::arg("nhwc") = false);
  m.def("pool_forward", [](py::array x, py::array y, py::array ws, int64_t k, int64_t stride, bool max) {
    F32 X = image(x, "x", false, true);
    PoolShape s = pool_shape(X.shape, k, stride, max);
    F32 Y = dense(y, "y", pool_out(s), true);
    same_layout(X, Y, "y");
    const bool nhwc = nhwc_of(X, Y);
    const size_t need = cpu::pool_workspace_bytes(s, nhwc);
    auto* w = static_cast<uint8_t*>(workspace(ws, need + 1));
    w[need] = layout_mark(nhwc);
    run_without_gil(cpu::pool_forward, s, X.p, Y.p, static_cast<void*>(w), nhwc);
  });
  m.def("pool_backward", [](py::array dy, py::array ws, py::array dx, int64_t k, int64_t stride, bool max) {
    F32 DX = image(dx, "dx", true, true);
    PoolShape s = pool_shape(DX.shape, k, stride, max);
    F32 DY = dense(dy, "dy", pool_out(s));
    same_layout(DX, DY, "dy");
    const bool nhwc = nhwc_of(DX, DY);
    const size_t need = cpu::pool_workspace_bytes(s, nhwc);
    auto* w = static_cast<uint8_t*>(workspace(ws, need + 1));
    if (w[need] != layout_mark(nhwc))
      throw py::value_error(std::string("ws: not filled by a forward on ") + (nhwc ? "NHWC" : "NCHW") +
                            " arrays of this shape (backward must take the forward's layout)");
    run_without_gil(cpu::pool_backward, s, DY.p, static_cast<void*>(w), DX.p, nhwc);
  });
  m.def("lrn_workspace_bytes", [](Shape x, int64_t size, float alpha, float beta, float knorm) {
    return cpu::lrn_workspace_bytes(lrn_shape(x, size, alpha, beta, knorm));
  });
  m.def("lrn_forward", [](py::array x, py::array y, py::array ws, int64_t size, float alpha, float beta,
                          float knorm) {
    F32 X = nchw(x, "x");
    LrnShape s = lrn_shape(X.shape, size, alpha, beta, knorm);
    F32 Y = f32(y, "y", X.shape, true);
    void* w = workspace(ws, cpu::lrn_workspace_bytes(s));
    run_without_gil(cpu::lrn_forward, s, X.p, Y.p, w);
  });
  m.def("lrn_backward", [](py::array x, py::array dy, py::array ws, py::array dx, int64_t size, float alpha,
                           float beta, float knorm) {
    F32 X = nchw(x, "x");
    LrnShape s = lrn_shape(X.shape, size, alpha, beta, knorm);
    F32 DY = f32(dy, "dy", X.shape), DX = f32(dx, "dx", X.shape, true);
    void* w = workspace(ws, cpu::lrn_workspace_bytes(s));
    run_without_gil(cpu::lrn_backward, s, X.p, DY.p, w, DX.p);
  });
  m.def("stanh_forward", [](py::array x, py::array y, float a, float b) {
    F32 X = dense(x, "x");
    F32 Y = dense(y, "y", X.shape, true);
    same_layout(X, Y, "y");
    run_without_gil(cpu::stanh_forward, X.size, a, b, X.p, Y.p);
  }, py::arg("x"), py::arg("y"), py::arg("a"), py::arg("b"), "y = a tanh(b x).");
  m.def("stanh_backward", [](py::array y, py::array dy, py::array dx, float a, float b) {
    F32 Y = dense(y, "y");
    F32 DY = dense(dy, "dy", Y.shape), DX = dense(dx, "dx", Y.shape, true);
    same_layout(Y, DY, "dy");
    same_layout(Y, DX, "dx");
    run_without_gil(cpu::stanh_backward, Y.size, a, b, Y.p, DY.p, DX.p);
  }, py::arg("y"), py::arg("dy"), py::arg("dx"), py::arg("a"), py::arg("b"),
     "dx of y = a tanh(b x), from y.");
  m.def("sgd_update", [](py::array w, py::array g, py::object h, float lr, float wd, float momentum,
                         float grad_scale) {
    F32 W = f32(w, "w", true);
    F32 G = f32(g, "g", W.shape);
    float* hp = opt_f32(h, "h", W.shape, true);
    if (momentum > 0.f && hp == nullptr) throw py::value_error("h: momentum needs a history array");
    run_without_gil(cpu::sgd_update, W.size, W.p, G.p, hp, lr, wd, momentum, grad_scale);
  }, py::arg("w"), py::arg("g"), py::arg("h"), py::arg("lr"), py::arg("wd"), py::arg("momentum"),
     py::arg("grad_scale") = 1.0f, "SGD with weight decay and momentum, in place, one pass.");
  m.def("axpby", [](float alpha, py::array x, float beta, py::array y) {
    F32 Y = f32(y, "y", true);
    F32 X = f32(x, "x", Y.shape);
    run_without_gil(cpu::axpby, Y.size, alpha, X.p, beta, Y.p);
  }, py::arg("alpha"), py::arg("x"), py::arg("beta"), py::arg("y"), "y = beta y + alpha x, in place.");
  m.def("set_num_threads", &cpu::set_num_threads, py::arg("n"),
        "Set the OpenMP threads of the calling thread's kernels.");
  m.def("get_num_threads", &cpu::get_num_threads, "The OpenMP threads the calling thread's kernels use.");
}

struct CpuBackend {
  static constexpr bool nhwc_ok = true;  // convolutions take channels-last activations
  static constexpr auto sgemm = &singa::cpu::sgemm;
  static constexpr auto conv_forward = &singa::cpu::conv_forward;
  static constexpr auto conv_backward_data = &singa::cpu::conv_backward_data;
  static constexpr auto conv_backward_weights = &singa::cpu::conv_backward_weights;
  static constexpr auto act_forward = &singa::cpu::act_forward;
  static constexpr auto act_backward = &singa::cpu::act_backward;
  static constexpr auto softmax_forward = &singa::cpu::softmax_forward;
  static constexpr auto cell_forward = &singa::cpu::cell_forward;
  static constexpr auto cell_backward = &singa::cpu::cell_backward;
};

#ifdef SINGA_WITH_CUDA
struct CudaBackend {
  static constexpr bool nhwc_ok = false;  // the bindings refuse channels-last arrays before the call
  static constexpr auto sgemm = &singa::cuda::sgemm;
  static void conv_forward(const ConvShape& s, const float* x, const float* w, const float* b, float* y,
                           ConvLayouts) {
    singa::cuda::conv_forward(s, x, w, b, y);
  }
  static void conv_backward_data(const ConvShape& s, const float* dy, const float* w, float* dx,
                                 ConvLayouts) {
    singa::cuda::conv_backward_data(s, dy, w, dx);
  }
  static void conv_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dw, float* db,
                                    ConvLayouts) {
    singa::cuda::conv_backward_weights(s, x, dy, dw, db);
  }
  static constexpr auto act_forward = &singa::cuda::act_forward;
  static constexpr auto act_backward = &singa::cuda::act_backward;
  static constexpr auto softmax_forward = &singa::cuda::softmax_forward;
  static constexpr auto cell_forward = &singa::cuda::cell_forward;
  static constexpr auto cell_backward = &singa::cuda::cell_backward;
};

// Windowed kernels whose CUDA signatures differ: no workspace; max pooling's backward reads x.
void register_cuda_only(py::module_& m) {
  namespace cu = singa::cuda;
  m.def("available", &cu::available, "True when the CUDA twins are built and a GPU is present.");
  m.def("gemm_backend", &cu::gemm_backend);
  m.def("pool_forward", [](py::array x, py::array y, int64_t k, int64_t stride, bool max) {
    F32 X = nchw(x, "x");
    PoolShape s = pool_shape(X.shape, k, stride, max);
    F32 Y = f32(y, "y", pool_out(s), true);
    run_without_gil(cu::pool_forward, s, X.p, Y.p);
  });
  m.def("pool_backward", [](py::array x, py::array dy, py::array dx, int64_t k, int64_t stride, bool max) {
    F32 X = nchw(x, "x");
    PoolShape s = pool_shape(X.shape, k, stride, max);
    F32 DY = f32(dy, "dy", pool_out(s)), DX = f32(dx, "dx", X.shape, true);
    run_without_gil(cu::pool_backward, s, X.p, DY.p, DX.p);
  });
  m.def("lrn_forward", [](py::array x, py::array y, int64_t size, float alpha, float beta, float knorm) {
    F32 X = nchw(x, "x");
    LrnShape s = lrn_shape(X.shape, size, alpha, beta, knorm);
    F32 Y = f32(y, "y", X.shape, true);
    run_without_gil(cu::lrn_forward, s, X.p, Y.p);
  });
  m.def("lrn_backward", [](py::array x, py::array dy, py::array dx, int64_t size, float alpha, float beta,
                           float knorm) {
    F32 X = nchw(x, "x");
    LrnShape s = lrn_shape(X.shape, size, alpha, beta, knorm);
    F32 DY = f32(dy, "dy", X.shape), DX = f32(dx, "dx", X.shape, true);
    run_without_gil(cu::lrn_backward, s, X.p, DY.p, DX.p);
  });
}
#endif


}  // namespace

PYBIND11_MODULE(_kernels, m) {
  m.doc() = "SINGA-py kernels: oneDNN on the CPU, CUDA twins in the `cuda` submodule";
  // True in the GIL-checked build (SINGA_GIL_CHECKS): pybind11 raises when a reference count changes
  // without the GIL.
#ifdef PYBIND11_ASSERT_GIL_HELD_INCREF_DECREF
  m.attr("gil_checks") = true;
#else
  m.attr("gil_checks") = false;
#endif
  m.def("dnnl_version", [] {
    const dnnl_version_t* v = dnnl_version();
    return py::make_tuple(v->major, v->minor, v->patch);
  });
  register_shared<CpuBackend>(m);
  register_cpu_only(m);
  py::module_ cu = m.def_submodule("cuda", "CUDA twins of the CPU kernels (host arrays in and out)");
#ifdef SINGA_WITH_CUDA
  cu.attr("built") = true;
  register_shared<CudaBackend>(cu);
  register_cuda_only(cu);
#else
  cu.attr("built") = false;
  cu.def("available", [] { return false; }, "True when the CUDA twins are built and a GPU is present.");
#endif
}
