"""
Slow clients (finding: 6-50 connections sending one header line a second made 19 of 20
/health/ probes time out, with gunicorn's sync workers exposed directly). Behind the shipped
nginx, which buffers a request whole before it reaches gunicorn, 50 of them hold no worker.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from ..support.live import Instance, app_env, free_port, prepare
from ..support.load import Probe, figures
from ..support.nginx import nginx

SLOW_CLIENTS = 50


def _slow_client(port: int, stop: threading.Event) -> None:
    """Opens a request and sends one header line a second, never finishing it."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"GET /api/stocks/ HTTP/1.1\r\nHost: x\r\n")
        while not stop.wait(1.0):
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                return


@pytest.fixture
def proxied(tmp_path):
    port = free_port()
    env = app_env(tmp_path, port, workers=5, GUNICORN_THREADS="1", TRUSTED_PROXY_COUNT="1")
    prepare(env)
    instance = Instance(env, port, tmp_path / "gunicorn.log").start()
    try:
        with nginx(tmp_path, [f"server 127.0.0.1:{port};"]) as proxy_port:
            yield proxy_port
    finally:
        instance.kill()


def test_slow_clients_are_held_by_the_proxy_not_the_workers(proxied):
    stop = threading.Event()
    clients = [
        threading.Thread(target=_slow_client, args=(proxied, stop), daemon=True)
        for _ in range(SLOW_CLIENTS)
    ]
    for client in clients:
        client.start()
    try:
        time.sleep(1.5)
        with Probe(proxied, "/health/", period=0.2) as probe:
            time.sleep(3)
    finally:
        stop.set()
    figures(f"/health/ through nginx under {SLOW_CLIENTS} slow clients", probe.samples)
    assert len(probe.samples) >= 10
    assert {s.status for s in probe.samples} == {200}
    assert max(s.seconds for s in probe.samples) < 1.0
