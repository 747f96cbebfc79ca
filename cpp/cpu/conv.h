// 2-D convolution, square kernel, symmetric zero padding: forward, backward data, backward weights. The
// activations may be NCHW or channels-last (`l`), each as the caller holds it; the weights are OIHW.
#pragma once

#include "../shapes.h"

namespace singa::cpu {

// y[n,oc,oh,ow] = conv(x[n,c,h,w], w[oc,c,k,k]) + b[oc] (b may be null).
void conv_forward(const ConvShape& s, const float* x, const float* w, const float* b, float* y,
                  ConvLayouts l = {});
// dx = conv_transpose(dy, w).
void conv_backward_data(const ConvShape& s, const float* dy, const float* w, float* dx, ConvLayouts l = {});
// dw = correlation of x with dy; db = sum of dy over n, oh, ow (db may be null).
void conv_backward_weights(const ConvShape& s, const float* x, const float* dy, float* dw, float* db,
                           ConvLayouts l = {});

}  // namespace singa::cpu
