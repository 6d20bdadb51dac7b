"""Make FreeType's smooth rasterizer work without setjmp/longjmp.

ftgrays.c renders a band into a fixed pool of cells; when the pool runs
out it longjmps back to gray_convert_glyph_inner, which reports
Raster_Overflow so the caller bisects the band and tries again. That is a
normal path (a large glyph at a large size), and the guest has no longjmp
(tools/pyext/nosjlj/setjmp.h). Here the overflow sets a flag instead:
later cells go to the "null" cell, which already serves as a dumpster for
cells outside the clip box, the outline walk finishes, and the flag turns
into the same Raster_Overflow. The band's partial cells are thrown away
either way.

usage: patch_freetype.py FREETYPE_SRC_DIR
"""

import os
import sys

EDITS = [
    ("    ft_jmp_buf  jump_buffer;\n",
     "    int         overflow;    /* cell pool ran out (no longjmp here)    */\n"),
    ("      cell = ras.cell_free++;\n"
     "      if ( cell >= ras.cell_null )\n"
     "        ft_longjmp( ras.jump_buffer, 1 );\n",
     "      if ( ras.cell_free >= ras.cell_null )\n"
     "      {\n"
     "        ras.overflow = 1;\n"
     "        ras.cell     = ras.cell_null;\n"
     "        return;\n"
     "      }\n"
     "      cell = ras.cell_free++;\n"),
    ("    if ( ft_setjmp( ras.jump_buffer ) == 0 )\n",
     "    ras.overflow = 0;\n"
     "    error = FT_Outline_Decompose( &ras.outline, &func_interface, &ras );\n"
     "    if ( !ras.overflow )\n"),
    ("      error = FT_Outline_Decompose( &ras.outline, &func_interface, &ras );\n"
     "      if ( continued )\n",
     "      if ( continued )\n"),
]


def main():
    path = os.path.join(sys.argv[1], "src", "smooth", "ftgrays.c")
    with open(path) as f:
        text = f.read()
    for old, new in EDITS:
        if text.count(old) != 1:
            sys.exit(f"patch_freetype.py: expected one match in {path}:\n{old}")
        text = text.replace(old, new)
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
