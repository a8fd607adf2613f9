"""
schemathesis against the app as deployed (gunicorn behind the shipped nginx, with the sample
data): every operation of the OpenAPI schema, every check, a fixed seed and a bounded number
of examples. It must find nothing: each finding is fixed in the code or in the schema.

Plans' limits are off for the run: the anonymous plan's 20 requests a minute would answer
nearly every case with a (documented) 429 and leave the operations untested.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ..support.live import live_app
from ..support.nginx import nginx

pytestmark = pytest.mark.services

SEED = 420
MAX_EXAMPLES = 50
SAMPLE_DATA = "from django.core.management import call_command; call_command('load_sample_data')"


def test_schemathesis__finds_nothing(tmp_path):
    st = Path(sys.executable).with_name("st")
    (tmp_path / "app").mkdir()
    (tmp_path / "proxy").mkdir()
    with (
        live_app(tmp_path / "app", setup=SAMPLE_DATA, RATE_LIMITS_ENABLED="false") as app,
        nginx(tmp_path / "proxy", [f"server 127.0.0.1:{app.port};"]) as port,
    ):
        done = subprocess.run(
            [str(st), "run", f"http://127.0.0.1:{port}/api/schema/", "--checks", "all",
             "--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES), "--workers", "1"],
            cwd=tmp_path, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    assert "10 passed" in done.stdout, done.stdout[-3000:]  # every operation was tested
