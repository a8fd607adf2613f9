"""
The plumbing the operator commands share: ``--json``, exit codes, and failing cleanly.

An operator command computes a result (anything with ``as_dict()`` and ``exit_code``),
then prints it as text or, with ``--json``, as one JSON document on stdout. The exit code
is the contract monitoring scripts rely on: 0 all is well or done, 1 degraded or partial,
2 failed.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections
from django.utils.connection import ConnectionDoesNotExist

logger = logging.getLogger("stocks.commands")

EXIT_OK, EXIT_ATTENTION, EXIT_FAILED = 0, 1, 2


class OperatorResult(Protocol):
    exit_code: int

    def as_dict(self) -> dict[str, Any]: ...


class OperatorFailed(CommandError):
    """Nothing could be done (bad usage, unreachable service): exit 2 with this message."""

    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=EXIT_FAILED)


def require_database_alias(alias: str) -> str:
    try:
        connections[alias]
    except ConnectionDoesNotExist:
        raise OperatorFailed(
            f"Unknown database alias {alias!r} (configured: {', '.join(connections)})."
        ) from None
    return alias


class OperatorCommand(BaseCommand):
    """
    Subclasses implement ``perform(**options)``, returning the result, and ``render(result)``,
    writing it as text. Set ``exit_codes`` to what 0, 1 and 2 mean for the command: it is
    shown by ``--help``.
    """

    exit_codes = "0 ok, 1 degraded or partial, 2 failed"
    # Report even when the project is misconfigured: that is when operators need these.
    requires_system_checks = []

    def create_parser(self, prog_name, subcommand, **kwargs):
        kwargs.setdefault("epilog", f"Exit codes: {self.exit_codes}.")
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print one JSON document on stdout instead of text.",
        )
        return parser

    def perform(self, **options) -> OperatorResult:
        raise NotImplementedError

    def render(self, result: OperatorResult) -> None:
        raise NotImplementedError

    def handle(self, *args, **options) -> None:
        as_json = options["json"]
        try:
            if "database" in options:
                require_database_alias(options["database"])
            result = self.perform(**options)
        except CommandError as exc:
            if as_json:  # stdout still carries one document, for scripts that parse it
                self.write_json({"status": "failed", "error": str(exc)})
            raise
        except Exception as exc:
            # A bug or an unforeseen failure is still a failure (exit 2), not a "degraded"
            # exit 1 with a bare traceback: the traceback goes to the log.
            logger.exception("%s failed unexpectedly", self.__module__.rpartition(".")[2])
            failure = OperatorFailed(f"unexpected error: {type(exc).__name__}: {exc}")
            if as_json:
                self.write_json({"status": "failed", "error": str(failure)})
            raise failure from exc
        if as_json:
            self.write_json(result.as_dict())
        else:
            self.render(result)
        if result.exit_code != EXIT_OK:
            raise SystemExit(result.exit_code)

    def write_json(self, payload: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(payload, cls=DjangoJSONEncoder, indent=2))

    def status_style(self, status: str):
        """Green for good news, yellow for attention, red for failure, plain otherwise."""
        if status in {"ok", "done"}:
            return self.style.SUCCESS
        if status in {"degraded", "partial", "attention"}:
            return self.style.WARNING
        if status in {"failed", "down"}:
            return self.style.ERROR
        return str
