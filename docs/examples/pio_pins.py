# platformio.ini: extra_scripts = pre:docs/examples/pio_pins.py
"""Regenerate include/pins.h from espcheck.toml before PlatformIO builds."""
import os
import shlex
import subprocess

Import("env")  # noqa: F821  (PlatformIO provides it)

args = ["espcheck", "gen-cert-header", *shlex.split(os.environ.get("ESPCHECK_ARGS", ""))]
print("pins:", " ".join(args))
subprocess.run(args, check=True, cwd=env["PROJECT_DIR"])  # noqa: F821
