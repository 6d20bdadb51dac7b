"""Point matplotlib's data path at the folder the host serves.

matplotlib finds mpl-data (matplotlibrc, fonts, style sheets) next to its
__init__.py. In the guest that file is inside python313.zip, and a path
inside a zip cannot be open()ed; FreeType reads fonts by path through
io.open. cloche's host serves the image's uncompressed data members as
read-only files under /usr/local/share/python313/ (docs/data-stack.md,
"mpl-data"), so get_data_path() answers that folder.

usage: patch_matplotlib.py MATPLOTLIB_SRC_DIR
"""

import os
import sys

OLD = '    return str(Path(__file__).with_name("mpl-data"))\n'
NEW = ('    # cloche: python313.zip holds this file; the host serves mpl-data\n'
       '    # as plain read-only files here (tools/pyext/patch_matplotlib.py).\n'
       '    return "/usr/local/share/python313/matplotlib/mpl-data"\n')


def main():
    path = os.path.join(sys.argv[1], "lib", "matplotlib", "__init__.py")
    with open(path) as f:
        text = f.read()
    if text.count(OLD) != 1:
        sys.exit(f"patch_matplotlib.py: get_data_path not found in {path}")
    with open(path, "w") as f:
        f.write(text.replace(OLD, NEW))


if __name__ == "__main__":
    main()
