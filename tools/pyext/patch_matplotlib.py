"""Patch matplotlib's sources for the guest.

1. Its data path. matplotlib finds mpl-data (matplotlibrc, fonts, style
   sheets) next to its __init__.py. In the guest that file is inside
   python313.zip, and a path inside a zip cannot be open()ed; FreeType reads
   fonts by path through io.open. cloche's host serves the image's
   uncompressed data members as read-only files under
   /usr/local/share/python313/ (docs/data-stack.md, "mpl-data"), so
   get_data_path() answers that folder.

2. ft2font's enums (src/_enums.h, from mplcairo). P11X_DECLARE_ENUM builds
   each enum's Python spec in a namespace-scope initializer that takes the
   GIL and creates Python objects. Natively that runs when the interpreter
   dlopen()s ft2font. In the guest every module is linked into one reactor,
   whose C++ static initializers run in _initialize, before Py_Initialize:
   PyGILState_Ensure then finds no thread-state key and Python aborts
   ("gilstate_tss_set: failed to set current tstate"). The initializer now
   only queues that work; bind_enums(), called from the module's init with
   the interpreter running, does it first.

3. ft2font's module __getattr__ (deprecated names) throws
   py::attribute_error for any other name. A missing attribute is a normal
   lookup (hasattr, `from matplotlib.ft2font import X` asks for __path__),
   and a C++ throw traps in the guest (docs/data-stack.md). It now returns
   a null object for those, and a plain C function registered as the
   module's __getattr__ turns that into AttributeError.

4. _qhull hides Qhull's messages by writing them to /dev/null, and throws
   (so traps) when that cannot be opened; a sandbox has no /dev/null, so
   every Triangulation trapped. It falls back to a memory stream whose
   contents are dropped.

usage: patch_matplotlib.py MATPLOTLIB_SRC_DIR
"""

import os
import sys

INIT_PY = os.path.join("lib", "matplotlib", "__init__.py")
ENUMS_H = os.path.join("src", "_enums.h")
FT2FONT = os.path.join("src", "ft2font_wrapper.cpp")
QHULL = os.path.join("src", "_qhull_wrapper.cpp")

GETATTR_C = r"""
// cloche: raises AttributeError without a C++ throw (a throw traps in the
// guest); ft2font__getattr__ answers a null object for an unknown name.
static PyObject *
ft2font__getattr__c(PyObject *, PyObject *name)
{
    const char *utf8 = PyUnicode_AsUTF8(name);
    if (utf8 == nullptr) {
        return nullptr;
    }
    py::object value = ft2font__getattr__(utf8);
    if (!value) {
        PyErr_Format(PyExc_AttributeError,
                     "module 'matplotlib.ft2font' has no attribute %R", name);
        return nullptr;
    }
    return value.release().ptr();
}

static PyMethodDef ft2font__getattr__def = {
    "__getattr__", ft2font__getattr__c, METH_O, nullptr};
"""

# (file, old, new): each old text must occur exactly once.
PATCHES = [
    (INIT_PY,
     '    return str(Path(__file__).with_name("mpl-data"))\n',
     '    # cloche: python313.zip holds this file; the host serves mpl-data\n'
     '    # as plain read-only files here (tools/pyext/patch_matplotlib.py).\n'
     '    return "/usr/local/share/python313/matplotlib/mpl-data"\n'),
    (ENUMS_H,
     '#include <pybind11/pybind11.h>\n',
     '#include <pybind11/pybind11.h>\n'
     '#include <functional>\n'
     '#include <vector>\n'),
    (ENUMS_H,
     '    auto enums = std::unordered_map<std::string, py::object>{};\n',
     '    auto enums = std::unordered_map<std::string, py::object>{};\n'
     '    // cloche: enum specs queued by static initializers, which run\n'
     '    // before the interpreter exists when the module is linked in.\n'
     '    auto pending = std::vector<std::function<void()>>{};\n'),
    (ENUMS_H,
     '    auto bind_enums(py::module mod) -> void\n    {\n',
     '    auto bind_enums(py::module mod) -> void\n    {\n'
     '      for (auto& make_spec: pending) {\n'
     '        make_spec();\n'
     '      }\n'
     '      pending.clear();\n'),
    (ENUMS_H,
     '        [](auto args) { \\\n          py::gil_scoped_acquire gil; \\\n',
     '        [](auto args) { \\\n'
     '          p11x::pending.push_back([args] { \\\n'
     '          py::gil_scoped_acquire gil; \\\n'),
    (ENUMS_H,
     '          p11x::enums[py_name] = pybind11::cast(std::pair{py_base_cls, '
     'pairs}); \\\n          return 0; \\\n',
     '          p11x::enums[py_name] = pybind11::cast(std::pair{py_base_cls, '
     'pairs}); \\\n          }); \\\n          return 0; \\\n'),
    (FT2FONT,
     '    throw py::attribute_error(\n'
     '        "module \'matplotlib.ft2font\' has no attribute {!r}"_s.format(name));\n'
     '}\n',
     '    return py::object();\n}\n' + GETATTR_C),
    (FT2FONT,
     '    m.def("__getattr__", ft2font__getattr__);\n',
     '    m.attr("__getattr__") = py::reinterpret_steal<py::object>(\n'
     '        PyCFunction_NewEx(&ft2font__getattr__def, m.ptr(), nullptr));\n'),
    (QHULL,
     '        error_file = fopen(STRINGIFY(MPL_DEVNULL), "w");\n',
     '        error_file = fopen(STRINGIFY(MPL_DEVNULL), "w");\n'
     '        if (error_file == NULL) {  /* cloche: no /dev/null */\n'
     '            error_file = fmemopen(NULL, 4096, "w");\n'
     '        }\n'),
]


def main():
    texts = {}
    for name, old, new in PATCHES:
        path = os.path.join(sys.argv[1], name)
        if path not in texts:
            with open(path) as f:
                texts[path] = f.read()
        if texts[path].count(old) != 1:
            sys.exit(f"patch_matplotlib.py: {old.strip()!r} not found once "
                     f"in {path}")
        texts[path] = texts[path].replace(old, new)
    for path, text in texts.items():
        with open(path, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
