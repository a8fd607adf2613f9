"""
The fault suite: the findings of issue 9's attack table, re-run against servers the tests
start themselves (gunicorn as shipped, nginx, a scratch database behind a proxy that can
freeze, a Redis of its own), never the shared ones. Each test prints its figures (requests,
answers by status, p50/p99, recovery time): run ``pytest -m faults -s`` to read them.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.faults)
