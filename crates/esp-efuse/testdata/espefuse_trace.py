"""Run espefuse (the pinned 5.6.0) in --virt mode and record the register
traffic it sends to its emulated eFuse controller.

Usage: python espefuse_trace.py TRACE_FILE ESPEFUSE_ARGS...

ESPEFUSE_ARGS must contain `--chip CHIP` and `--virt`. Every register access
espefuse itself makes (not the emulator's internal ones) is written to
TRACE_FILE as one JSON object per line:

    {"op": "read", "addr": A, "value": V}            READ_REG, V as answered
    {"op": "write", "addr": A, "value": V, "mask": M} WRITE_REG
    {"op": "update", "addr": A, "mask": M, "value": V} esptool's update_reg

The test of esp_efuse::controller replays this traffic against the Rust
controller the way it arrives over a serial port, and compares the reads and
the final state with what espefuse's own emulator produced.
"""

import functools
import importlib
import json
import sys

trace_path = sys.argv[1]
args = sys.argv[2:]
chip = args[args.index("--chip") + 1].replace("-", "")
trace = open(trace_path, "w")
state = {"depth": 0, "active": False}

module = importlib.import_module(f"espefuse.efuse.{chip}.emulate_efuse_controller")
controller = module.EmulateEfuseController


def traced(name, record):
    original = getattr(controller, name)

    @functools.wraps(original)
    def wrapper(self, *a, **kw):
        outer = state["depth"] == 0 and state["active"]
        state["depth"] += 1
        try:
            result = original(self, *a, **kw)
        finally:
            state["depth"] -= 1
        if outer:
            trace.write(json.dumps(record(result, *a, **kw)) + "\n")
            trace.flush()
        return result

    setattr(controller, name, wrapper)


traced("read_reg", lambda r, addr: {"op": "read", "addr": addr, "value": r})
traced(
    "write_reg",
    lambda r, addr, value, mask=0xFFFFFFFF, delay_us=0, delay_after_us=0: {
        "op": "write",
        "addr": addr,
        "value": value,
        "mask": mask,
    },
)
traced(
    "update_reg",
    lambda r, addr, mask, new_val: {
        "op": "update",
        "addr": addr,
        "mask": mask,
        "value": new_val,
    },
)

original_init = controller.__init__


def init(self, *a, **kw):
    original_init(self, *a, **kw)
    # the emulator's own power-on writes are not traffic
    state["active"] = True


controller.__init__ = init

from espefuse.__init__ import _main  # noqa: E402

sys.argv = ["espefuse"] + args
sys.exit(_main())
