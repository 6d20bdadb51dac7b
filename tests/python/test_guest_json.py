"""The guest's JSON fast paths give what json.dumps / json.loads give:
cloche_guest/jsontext.py (a tool call's arguments, a run's value) checked
against json.dumps(allow_nan=False) inside the sandbox, and values and
arguments seen through a tool and --json."""

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLOCHE = os.environ.get("CLOCHE_BIN", str(ROOT / "build" / "cloche"))


def cloche(*args):
    return subprocess.run([CLOCHE, *args], capture_output=True, text=True,
                          timeout=120)


SAME_AS_JSON_DUMPS = r'''
import json, math
from cloche_guest import jsontext

def outcome(f, obj):
    try:
        return f(obj)
    except Exception as e:
        return (type(e).__name__, str(e))

circular = []
circular.append(circular)

class Sneaky(dict):
    # user code run by the encoder, itself encoding: a nested call
    def items(self):
        assert jsontext.dumps({"inner": [1, 2]}) == '{"inner": [1, 2]}'
        return super().items()

cases = [{}, {"a": 1, "b": [1, 2.5, None, True, "é✓\n\x00"]}, [1, {"x": (1, 2)}],
         {1: 2, None: 3, True: 4, 2.5: 5}, "s", -0.0, 10**30, 1e300,
         {"x": float("nan")}, [math.inf], {"s": {1, 2}}, {(1, 2): 3},
         circular, [1, [2]], Sneaky(k=[1]), {"k": Sneaky(a=1)}]
bad = [c for c in cases
       if outcome(jsontext.dumps, c) != outcome(lambda o: json.dumps(o, allow_nan=False), c)]
print(len(cases), "cases,", len(bad), "differ:", bad)
'''


def test_jsontext_matches_json_dumps_in_the_guest():
    p = cloche("run", "-c", SAME_AS_JSON_DUMPS)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "16 cases, 0 differ: []\n"


def test_tool_arguments_and_values_round_trip():
    code = ("r = echo(a=[1, 2.5, None], b={'k': 'é✓'}, c=True)\n"
            "assert r == {'a': [1, 2.5, None], 'b': {'k': 'é✓'}, 'c': True}, r\n"
            "try:\n    echo(x=float('nan'))\n"
            "except TypeError as e:\n    print('TypeError', 'JSON' in str(e))\n"
            "{'v': [1, 2], 'n': None}")
    p = cloche("run", "--demo-tools", "--json", "-c", code)
    out = json.loads(p.stdout)
    assert out["outcome"] == "ok", out
    assert out["stdout"] == "TypeError True\n"
    assert out["value"] == {"v": [1, 2], "n": None}
