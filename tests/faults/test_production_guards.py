"""
Production guards, live (finding: DJANGO_ENV=production started with DJANGO_DEBUG=1, with a
secret of 50 x "a" and with .env.example's placeholders, and trusted X-Forwarded-Proto from
any client). gunicorn itself is started with each unsafe setting: it must not serve.
"""

from __future__ import annotations

import http.client
import subprocess
import sys
import time

import pytest

from ..support.live import BASE_DIR, WSGI_APP, Instance, app_env, free_port, prepare
from ..support.production import DOCUMENTED_PRODUCTION, example_value

UNSAFE = {
    "DEBUG on": ({"DJANGO_DEBUG": "true"}, "DJANGO_DEBUG must be off"),
    "secret of 50 x a": ({"DJANGO_SECRET_KEY": "a" * 50}, "DJANGO_SECRET_KEY"),
    "example secret": ({"DJANGO_SECRET_KEY": example_value("DJANGO_SECRET_KEY")},
                       "DJANGO_SECRET_KEY"),
    "example health token": ({"HEALTH_TOKEN": example_value("HEALTH_TOKEN")}, "HEALTH_TOKEN"),
}  # fmt: skip


@pytest.mark.parametrize("name", UNSAFE)
def test_gunicorn_refuses_to_start_with_unsafe_production_settings(tmp_path, name):
    unsafe, message = UNSAFE[name]
    env = app_env(tmp_path, free_port(), **{**DOCUMENTED_PRODUCTION, **unsafe})
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", WSGI_APP],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    print(f"{name}: gunicorn exited {done.returncode} after {time.monotonic() - started:.1f} s")
    assert done.returncode != 0
    assert message in done.stderr


def _get(port: int, path: str, headers: dict) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location") or ""
    finally:
        connection.close()


@pytest.mark.parametrize(("proxies", "trusted"), [("0", False), ("1", True)])
def test_forwarded_proto_trusted_only_when_a_proxy_is_declared(tmp_path, proxies, trusted):
    """With HTTPS required, a plain request is redirected; a client's own X-Forwarded-Proto:
    https stops that only when TRUSTED_PROXY_COUNT says a proxy sets it."""
    port = free_port()
    env = app_env(tmp_path, port, **{**DOCUMENTED_PRODUCTION, "TRUSTED_PROXY_COUNT": proxies})
    prepare(env)
    instance = Instance(env, port, tmp_path / "gunicorn.log").start()
    try:
        headers = {"Host": "api.example.com", "X-Forwarded-Proto": "https"}
        status, location = _get(port, "/api/stocks/", headers)
    finally:
        instance.kill()
    print(f"TRUSTED_PROXY_COUNT={proxies}, client says https: {status} {location}")
    if trusted:
        assert status == 200
    else:
        assert status == 301 and location.startswith("https://api.example.com/")
