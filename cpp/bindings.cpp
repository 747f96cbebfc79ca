// The one binding file: registers the kernels of cpu/ (and cuda/ when built) with Python.
#include <pybind11/pybind11.h>
#include <oneapi/dnnl/dnnl.hpp>

namespace py = pybind11;

PYBIND11_MODULE(_kernels, m) {
  m.doc() = "SINGA-py kernels";
  m.def("dnnl_version", [] {
    const dnnl_version_t* v = dnnl_version();
    return py::make_tuple(v->major, v->minor, v->patch);
  });
}
