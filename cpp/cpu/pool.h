// Max / average pooling, no padding, SINGA's floor output size floor((H - k) / s) + 1. x and y (dx and dy)
// are both NCHW or both channels-last (`nhwc`).
#pragma once

#include <cstddef>

#include "../shapes.h"

namespace singa::cpu {

// Bytes of the workspace that forward fills and backward reads (where max pooling keeps its argmax).
size_t pool_workspace_bytes(const PoolShape& s, bool nhwc = false);
void pool_forward(const PoolShape& s, const float* x, float* y, void* ws, bool nhwc = false);
void pool_backward(const PoolShape& s, const float* dy, const void* ws, float* dx, bool nhwc = false);

}  // namespace singa::cpu
