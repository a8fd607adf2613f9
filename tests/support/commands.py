"""Running operator commands in-process, as a shell would see them."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

from django.core.management import CommandError, call_command


def output(*args: str, **options) -> SimpleNamespace:
    """call_command, capturing stdout and stderr; its errors propagate (``pytest.raises``)."""
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return SimpleNamespace(out=out.getvalue(), err=err.getvalue())


def run(*args: str) -> SimpleNamespace:
    """call_command, capturing stdout, stderr and the exit code it would end the process with."""
    out, err = io.StringIO(), io.StringIO()
    code, error = 0, ""
    try:
        call_command(*args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    except CommandError as exc:
        code, error = exc.returncode, str(exc)
    return SimpleNamespace(out=out.getvalue(), err=err.getvalue(), code=code, error=error)


def run_json(*args: str) -> tuple[dict, int]:
    result = run(*args, "--json")
    return json.loads(result.out), result.code
