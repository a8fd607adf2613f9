"""docker-compose.yml is valid (docker-compose 1.29 checks it without an engine) and puts
nginx, with the repo's config, in front of gunicorn."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from ..support.live import BASE_DIR


def compose_config(tmp_path) -> dict:
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("STOCKSCANNER_REQUIRE_SERVICES") == "1":
            pytest.fail("docker-compose is required (CI installs it) but not installed")
        pytest.skip("docker-compose is not installed")
    # A copy of the project's compose file, beside the .env an operator copies from the
    # example (the file reads .env from its own directory; the checkout's own is left alone).
    shutil.copy(BASE_DIR / "docker-compose.yml", tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text((BASE_DIR / ".env.example").read_text())
    (tmp_path / "deploy").symlink_to(BASE_DIR / "deploy")
    done = subprocess.run(
        [binary, "config"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def test_compose__nginx_in_front_of_gunicorn(tmp_path):
    services = compose_config(tmp_path)["services"]
    proxy, web = services["proxy"], services["web"]
    assert proxy["ports"][0]["target"] == 80
    mounts = [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in proxy["volumes"]]
    assert any(
        "deploy/nginx/stockscanner.conf.template:/etc/nginx/templates/" in mount for mount in mounts
    )
    assert "web:8000" in proxy["environment"]["STOCKSCANNER_UPSTREAM_SERVERS"]
    assert "ports" not in web  # gunicorn is reached through nginx only
    assert web["environment"]["TRUSTED_PROXY_COUNT"] == "1"


def test_compose__web_scales_behind_the_proxy(tmp_path):
    """`docker compose up --scale web=2` (README): nothing pins web to one container (a name,
    a published port), and nginx reaches it by its service name, which resolves to every
    replica. (Without an engine here, the two replicas themselves run in
    tests/faults/test_scale_out.py, as two gunicorns behind the same template.)"""
    services = compose_config(tmp_path)["services"]
    web = services["web"]
    assert "container_name" not in web and "ports" not in web
    assert "server web:8000 " in services["proxy"]["environment"]["STOCKSCANNER_UPSTREAM_SERVERS"]
