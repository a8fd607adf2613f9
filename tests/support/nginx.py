"""nginx from the system, with the repo's config (deploy/nginx), on a port of its own."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from string import Template

import pytest

from .live import BASE_DIR, free_port, get

TEMPLATE = BASE_DIR / "deploy" / "nginx" / "stockscanner.conf.template"
NGINX = "/usr/sbin/nginx"

MAIN = """
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
$user
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    include $tmp/stockscanner.conf;
}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or (NGINX if os.path.exists(NGINX) else None)
    if found is None:
        if os.environ.get("STOCKSCANNER_REQUIRE_SERVICES") == "1":
            pytest.fail("nginx is required (CI installs it) but not installed")
        pytest.skip("nginx is not installed")
    return found


def render(upstreams: list[str], listen: str, forwarded_proto: str = "$scheme") -> str:
    """The repo's template, filled in as the nginx image's envsubst would."""
    return Template(TEMPLATE.read_text()).safe_substitute(
        STOCKSCANNER_UPSTREAM_SERVERS="\n    ".join(upstreams),
        STOCKSCANNER_LISTEN=listen,
        STOCKSCANNER_FORWARDED_PROTO=forwarded_proto,
    )


@contextmanager
def nginx(tmp_path: Path, upstreams: list[str], forwarded_proto: str = "$scheme") -> Iterator[int]:
    """nginx in front of ``upstreams`` ("server 127.0.0.1:PORT ...;" lines); yields its port."""
    binary = nginx_binary()
    port = free_port()
    conf = render(upstreams, f"127.0.0.1:{port}", forwarded_proto)
    (tmp_path / "stockscanner.conf").write_text(conf)
    user = "user root;" if os.geteuid() == 0 else ""
    main = Template(MAIN).substitute(tmp=tmp_path, user=user)
    (tmp_path / "nginx.conf").write_text(main)
    test = subprocess.run(
        [binary, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert test.returncode == 0, test.stderr
    process = subprocess.Popen(
        [binary, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while get(port, "/health/live/") == -1:
            assert process.poll() is None, (tmp_path / "error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.05)
        yield port
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
