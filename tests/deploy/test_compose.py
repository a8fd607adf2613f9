"""docker-compose.yml is valid (docker-compose 1.29 checks it without an engine) and puts
nginx, with the repo's config, in front of gunicorn."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from ..support.live import BASE_DIR
from ..support.production import GOOD_KEY, example_value


def compose_config(tmp_path, env_file: str | None = None) -> dict:
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("STOCKSCANNER_REQUIRE_SERVICES") == "1":
            pytest.fail("docker-compose is required (CI installs it) but not installed")
        pytest.skip("docker-compose is not installed")
    # A copy of the project's compose file, beside the .env an operator copies from the
    # example (the file reads .env from its own directory; the checkout's own is left alone).
    shutil.copy(BASE_DIR / "docker-compose.yml", tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text(env_file or (BASE_DIR / ".env.example").read_text())
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


APP_SERVICES = ("migrate", "web", "worker", "beat")


def operator_env_file() -> str:
    """.env as README's production steps make it: the example, its two secrets replaced."""
    text = (BASE_DIR / ".env.example").read_text()
    for name in ("DJANGO_SECRET_KEY", "HEALTH_TOKEN"):
        text = text.replace(f"{name}={example_value(name)}", f"{name}={GOOD_KEY}")
    return text


def test_compose__start_order(tmp_path):
    """MariaDB and Redis healthy first; web, worker and beat once migrate has completed."""
    services = compose_config(tmp_path)["services"]
    healthy = {"condition": "service_healthy"}
    assert services["migrate"]["depends_on"] == {"db": healthy, "redis": healthy}
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"] == {
            "db": healthy,
            "redis": healthy,
            "migrate": {"condition": "service_completed_successfully"},
        }, name
    assert services["proxy"]["depends_on"] == {"web": healthy}
    for name in ("db", "redis", "web", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert "http://127.0.0.1:8000/health/'" in " ".join(services["web"]["healthcheck"]["test"])
    worker_check = " ".join(services["worker"]["healthcheck"]["test"])
    assert "inspect ping -d worker@$$HOSTNAME" in worker_check
    # Log levels come from LOG_LEVEL (the app's LOGGING), not a flag Celery would ignore.
    assert all("--loglevel" not in services[name]["command"] for name in ("worker", "beat"))


SETTINGS_OF_A_SERVICE = (
    "from django.conf import settings as s; import json; d = s.DATABASES['default']; "
    "print(json.dumps([d['ENGINE'], d['HOST'], d['NAME'], s.CACHES['default']['LOCATION'], "
    "s.CELERY_BROKER_URL, s.CELERY_TASK_ALWAYS_EAGER, s.MARKET_DATA_PROVIDER, s.LOG_LEVEL, "
    "s.PRODUCTION, s.CELERY_BEAT_SCHEDULE_FILENAME]))"
)


@pytest.mark.parametrize("service", APP_SERVICES)
def test_compose__every_app_service_gets_what_it_needs(tmp_path, service):
    """
    The environment compose resolves for the service (``.env`` from the example, secrets
    set as README says), loaded by the app's own settings: MariaDB at ``db``, the cache and
    the broker at ``redis`` (the example's empty CELERY_BROKER_URL means the cache's Redis),
    real workers (not eager), INFO logs, production. (No Docker engine here: the containers
    themselves are not run.)
    """
    environment = compose_config(tmp_path, operator_env_file())["services"][service]["environment"]
    env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "stockscanner_django.settings"}
    env.update({k: "" if v is None else str(v) for k, v in environment.items()})
    done = subprocess.run(
        [sys.executable, "-c", SETTINGS_OF_A_SERVICE],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    engine, host, name, cache, broker, eager, provider, level, production, beat_file = json.loads(
        done.stdout
    )
    assert (engine, host, name) == ("stocks.db_backends.mysql", "db", "stockscanner")
    assert cache == broker == "redis://redis:6379/0"
    assert eager is False and production is True
    assert (provider, level) == ("simulated", "INFO")
    assert not beat_file.startswith("/app")  # beat keeps its state outside the image's code
