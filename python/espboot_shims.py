"""Run espboot under a reference tool's name.

ESP-IDF runs ``python -m espsecure ...``, ``python -m espefuse ...`` and
``python -m esptool ...``; Zephyr and NCS run ``${PYTHON} -m imgtool`` or
``${PYTHON} imgtool.py``. Python cannot execute the espboot binary itself,
so these packages stand in for the Python tools and replace the Python
process with espboot, passing the tool's name as argv[0]: espboot picks the
matching personality (imgtool 2.5.0, espsecure/espefuse/esptool 5.6.0)
from it.

espboot is found through the ESPBOOT environment variable, else on PATH.
"""

import os
import shutil
import sys


def run(tool):
    """Replace this process with espboot acting as ``tool``."""
    espboot = os.environ.get("ESPBOOT") or shutil.which("espboot")
    if not espboot:
        sys.stderr.write(
            f"{tool}: espboot not found: put it on PATH or set ESPBOOT to its path\n"
        )
        sys.exit(1)
    # Flush what Python may have buffered before the process image changes.
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(espboot, [tool] + sys.argv[1:])


# The console scripts (pyproject.toml [project.scripts]).
def espsecure():
    run("espsecure")


def espefuse():
    run("espefuse")


def esptool():
    run("esptool")


def imgtool():
    run("imgtool")
