// The shapes of the windowed kernels, shared by the CPU kernels and their CUDA twins (NCHW order).
#pragma once

#include <cstdint>

// The shape helpers run on the device too when nvcc compiles them.
#ifdef __CUDACC__
#define SINGA_HD __host__ __device__
#else
#define SINGA_HD
#endif

namespace singa {

// 2-D convolution with a square kernel and symmetric zero padding; SINGA's floor output size.
struct ConvShape {
  int64_t n, c, h, w;  // input
  int64_t oc, k, stride, pad;
  SINGA_HD int64_t oh() const { return (h + 2 * pad - k) / stride + 1; }
  SINGA_HD int64_t ow() const { return (w + 2 * pad - k) / stride + 1; }
  // Element counts; any may be 0 (an empty block of a partitioned batch or of filters).
  SINGA_HD int64_t x_size() const { return n * c * h * w; }
  SINGA_HD int64_t w_size() const { return oc * c * k * k; }
  SINGA_HD int64_t y_size() const { return n * oc * oh() * ow(); }
};

// How a caller holds a convolution's activations: NCHW, or channels-last (NHWC in memory, the shape
// still N, C, H, W). The CPU kernels take either for each tensor; the CUDA twins take NCHW only.
struct ConvLayouts {
  bool x_nhwc = false;  // x, and dx
  bool y_nhwc = false;  // y, and dy
};

// Max / average pooling without padding: output floor((H - k) / s) + 1, as SINGA v0.1.
struct PoolShape {
  int64_t n, c, h, w, k, stride;
  bool max;  // false: average
  SINGA_HD int64_t oh() const { return (h - k) / stride + 1; }
  SINGA_HD int64_t ow() const { return (w - k) / stride + 1; }
  SINGA_HD int64_t x_size() const { return n * c * h * w; }
  SINGA_HD int64_t y_size() const { return n * c * oh() * ow(); }
};

// LRN across channels: y = x * (knorm + alpha / local_size * sum of x^2 over the window) ^ -beta.
struct LrnShape {
  int64_t n, c, h, w, local_size;
  float alpha, beta, knorm;
  SINGA_HD int64_t size() const { return n * c * h * w; }
};

// Zero sizes. A kernel whose output is empty does nothing; one whose output is a sum over an empty set
// (a GEMM with K = 0, a weight gradient over an empty batch) writes that sum: 0, or beta C for a GEMM
// (C = 0 when beta is 0, whatever C held, as in BLAS), or the bias alone for a product that adds one.

// The element-wise activations; the numbers are part of the Python binding.
enum class Act { relu = 0, tanh = 1, logistic = 2 };

// The recurrent cells, one time step, batch-major, with PyTorch's gate order and equations so that its
// weights map one to one (W_ih (gates * H, I), W_hh (gates * H, H), b_ih and b_hh (gates * H)):
//   rnn:  h = tanh(x W_ih^T + b_ih + h_prev W_hh^T + b_hh)
//   gru:  r, z = sigmoid(x W_i{r,z}^T + b_i{r,z} + h_prev W_h{r,z}^T + b_h{r,z})
//         n = tanh(x W_in^T + b_in + r * (h_prev W_hn^T + b_hn)),  h = (1 - z) * n + z * h_prev
//   lstm: i, f, o = sigmoid(.), g = tanh(.) of x W_ih^T + b_ih + h_prev W_hh^T + b_hh (order i, f, g, o)
//         c = f * c_prev + i * g,  h = o * tanh(c)
// The numbers are part of the Python binding.
enum class Cell { rnn = 0, gru = 1, lstm = 2 };

struct CellShape {
  int64_t batch, input, hidden;
  Cell cell;
  SINGA_HD int64_t gates() const { return cell == Cell::rnn ? 1 : cell == Cell::gru ? 3 : 4; }
  // Values per row the forward saves for the backward: rnn h; gru r, z, n, h_prev W_hn^T + b_hn;
  // lstm i, f, g, o, tanh(c).
  SINGA_HD int64_t saved() const { return (cell == Cell::rnn ? 1 : cell == Cell::gru ? 4 : 5) * hidden; }
};

// The arrays of one step (row-major). Forward reads x, h_prev, c_prev (lstm), the weights and the biases
// (null: none) and writes h, c (lstm) and saved. Backward reads those and dh, dc (lstm; null: zero) and
// writes dx (null: not wanted), dh_prev and dc_prev (lstm); it ADDS into dw_ih, dw_hh, db_ih and db_hh
// (null: not wanted), so that backpropagation through time sums them over the steps.
struct CellArrays {
  const float *x, *h_prev, *c_prev, *w_ih, *w_hh, *b_ih, *b_hh;
  float *h, *c, *saved;
  const float *dh, *dc;
  float *dx, *dh_prev, *dc_prev, *dw_ih, *dw_hh, *db_ih, *db_hh;
};

}  // namespace singa
