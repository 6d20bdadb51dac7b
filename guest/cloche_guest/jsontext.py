"""JSON text exactly as json.dumps(obj, allow_nan=False) writes it, for the
hot paths that encode on every call: a tool call's arguments, a run's value.

json.dumps with an argument builds a JSONEncoder per call, and each
JSONEncoder.encode builds a C encoder, a marker dict and a float helper
closure; this makes the C encoder once and reuses it, clearing its marker
dict (what detects circular references) before each use. Measured with
fuel: encoding a tool call's empty arguments went from ~31k to ~11k wasm
instructions. A nested call (user code run by the encoder, e.g. a mapping
subclass's items() calling a tool) takes json's own path, so it never
clears the markers of an encoding in progress.
"""

import json
import json.encoder

_FALLBACK = json.JSONEncoder(allow_nan=False)
_MARKERS = {}
_C_ENCODE = None
if json.encoder.c_make_encoder is not None:
    # The arguments JSONEncoder.iterencode passes for these settings.
    _C_ENCODE = json.encoder.c_make_encoder(
        _MARKERS, _FALLBACK.default, json.encoder.encode_basestring_ascii,
        None, ": ", ", ", False, False, False)
_state = {"busy": False}


def dumps(obj):
    """json.dumps(obj, allow_nan=False): same text, same exceptions."""
    if _C_ENCODE is None or _state["busy"]:
        return _FALLBACK.encode(obj)
    _state["busy"] = True
    try:
        _MARKERS.clear()
        return "".join(_C_ENCODE(obj, 0))
    finally:
        _state["busy"] = False
