"""Figures as results: the images a run hands back beside its value.

At the end of every run (fresh, session, resumed after host calls) the
runtime calls `collect(value)`. If the user's code imported
matplotlib.pyplot, every open figure is rendered to PNG in memory and
closed, as notebook inline backends do, so the next run of a session does
not repeat it; a trailing value that is a Figure (or an Axes: its figure)
not managed by pyplot is rendered too. matplotlib is never imported here:
a run that did not use it pays one dict lookup.

`import cloche; cloche.show_image(png_bytes)` attaches other images (PNG
only) in the order shown, before the figures. `plt.show()` does what a
notebook's inline backend does: the open figures become images of the run
at that point and are closed (so plot, show, plot, show gives two images,
not two plots on one figure); pyplot's own show() with the Agg backend
would only warn. It is put in place at the start of a run once pyplot is
imported (the data-stack guest imports it into the image).

Nothing here may lose the run: a figure that fails to render becomes a
note on stderr. The guest keeps at most MAX_IMAGES per run; the host
validates every image again and applies the byte cap
(CLOCHE_LIMIT_IMAGES), since this side is not trusted.
"""

import struct
import sys
import types

MAX_IMAGES = 64  # CLOCHE_MAX_IMAGES in include/cloche/result.h
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_shown = []  # images of the current run, from show_image()
_state = {"dropped": 0}  # images over MAX_IMAGES this run


def _note(text):
    """A line on the real stderr (the user may have replaced sys.stderr)."""
    stream = sys.__stderr__ or sys.stderr
    try:
        stream.write(f"cloche: {text}\n")
    except BaseException:
        pass


def _keep(data):
    if len(_shown) >= MAX_IMAGES:
        _state["dropped"] += 1
        return
    _shown.append(data)


def show_image(data):
    """Attach PNG bytes to this run's result as an image (after earlier
    ones, before the run's open matplotlib figures). At most 64 images per
    run; the host drops images over its byte cap.

    >>> import cloche
    >>> cloche.show_image(open('/data/chart.png', 'rb').read())
    """
    try:
        data = bytes(memoryview(data))
    except TypeError:
        raise TypeError("show_image() takes PNG bytes") from None
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("show_image(): not a PNG image (no PNG signature)")
    _keep(data)


def show(*args, **kwargs):
    """Show the open figures: they become images of this run, in figure
    order, and are closed (cloche's stand-in for pyplot.show; arguments
    such as block=False are accepted and ignored)."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        _pyplot_figures(plt, None)


def start_run():
    """A new run: images of an abandoned run are forgotten; pyplot's show
    is cloche's (see the top)."""
    _shown.clear()
    _state["dropped"] = 0
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None and getattr(plt, "show", None) is not show:
        try:
            plt.show = show
        except BaseException:  # a module that refuses: keep its own
            pass


# Values that are never a figure: most runs end with one of these, and
# every run comes through _figure_of.
_PLAIN = frozenset({type(None), bool, int, float, complex, str, bytes,
                    list, tuple, dict, set, frozenset})


def _figure_of(value):
    """The matplotlib Figure a trailing value stands for, or None."""
    if type(value) in _PLAIN:
        return None
    figure_mod = sys.modules.get("matplotlib.figure")
    if figure_mod is None:
        return None
    try:
        if isinstance(value, figure_mod.Figure):
            return value
        axes_mod = sys.modules.get("matplotlib.axes")
        if axes_mod is not None and isinstance(value, axes_mod.Axes):
            return value.figure
    except BaseException:
        pass
    return None


def _render(fig, label):
    import io

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", bbox_inches="tight")
        data = buf.getvalue()
    except BaseException as exc:  # a broken figure must not lose the run
        _note(f"{label} could not be rendered: {type(exc).__name__}: {exc}")
        return
    if not data.startswith(PNG_SIGNATURE):
        _note(f"{label} did not render as PNG; left out")
        return
    _keep(data)


def _close(plt, what):
    try:
        plt.close(what)
    except BaseException:
        pass


def _pyplot_figures(plt, extra):
    """Render and close every open pyplot figure, by figure number."""
    try:
        nums = sorted(plt.get_fignums())
    except BaseException as exc:
        _note(f"could not list the open figures: {type(exc).__name__}: {exc}")
        return extra
    for num in nums:
        if len(_shown) >= MAX_IMAGES:
            _state["dropped"] += 1
        else:
            try:
                fig = plt.figure(num)
            except BaseException as exc:
                _note(f"figure {num} could not be found: "
                      f"{type(exc).__name__}: {exc}")
            else:
                if fig is extra:
                    extra = None
                _render(fig, f"figure {num}")
        _close(plt, num)
    return extra


def _nothing_to_render(plt, value):
    """True when no figure is open and the value is not one: the common
    case, kept cheap because every run comes here, and in the data guest
    pyplot is always imported. Open figures are read from matplotlib's own
    figure manager only when `plt` is matplotlib's pyplot; anything else
    (a stand-in module in sys.modules) takes the general path."""
    if plt is not None:
        helpers = sys.modules.get("matplotlib._pylab_helpers")
        if helpers is None or getattr(plt, "_pylab_helpers", None) is not helpers:
            return False
        try:
            if helpers.Gcf.figs:
                return False
        except BaseException:
            return False
    elif "matplotlib.figure" not in sys.modules:
        return True
    return _figure_of(value) is None


def collect(value):
    """End of a run: the images to return, encoded for the result record as
    (u32 length, PNG bytes)*, or None when there are none."""
    plt = sys.modules.get("matplotlib.pyplot")
    if not _shown and _nothing_to_render(plt, value):
        return None
    extra = _figure_of(value)
    if plt is not None:
        extra = _pyplot_figures(plt, extra)
    if extra is not None:
        _render(extra, "the trailing figure")
    if _state["dropped"]:
        _note(f"{_state['dropped']} images left out: at most {MAX_IMAGES} "
              "per run")
    images = list(_shown)
    start_run()
    if not images:
        return None
    return b"".join(struct.pack("<I", len(i)) + i for i in images)


def install():
    """`import cloche` inside the sandbox gives the guest-side API."""
    mod = types.ModuleType("cloche", "cloche's API for code in the sandbox.")
    mod.show_image = show_image
    mod.MAX_IMAGES = MAX_IMAGES
    sys.modules["cloche"] = mod
