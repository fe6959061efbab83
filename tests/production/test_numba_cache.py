"""numba's on-disk cache of the forest walk lands in a writable folder under the var dir."""

import subprocess
import sys

from .conftest import PROJECT, production_env

PROBE = """
import django
django.setup()
import numba
from ml import predict  # imports numba's compiled walk, as the apps do
print(numba.config.CACHE_DIR)
"""


def test_numba_cache_defaults_to_var_numba_and_honours_the_variable(tmp_path):
    env = production_env(tmp_path / "var", DJANGO_SETTINGS_MODULE="digitsite.settings")
    env.pop("NUMBA_CACHE_DIR", None)
    default = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    assert default.returncode == 0, default.stderr
    assert default.stdout.splitlines()[-1] == str(tmp_path / "var" / "numba")

    env["NUMBA_CACHE_DIR"] = str(tmp_path / "elsewhere")
    chosen = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout.splitlines()[-1] == str(tmp_path / "elsewhere")
