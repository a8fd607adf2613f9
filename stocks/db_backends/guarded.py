"""The part both guarded backends share: where a round trip starts."""

from __future__ import annotations

import time

from django.conf import settings

from .. import database_guard


def _bounded_execute(execute, sql, params, many, context):
    with database_guard.bounded(context["connection"].connection, "a query"):
        return execute(sql, params, many, context)


class GuardedDatabaseWrapper:
    """Mixed in before Django's ``DatabaseWrapper`` of the vendor."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.execute_wrappers.append(_bounded_execute)

    def get_new_connection(self, conn_params):
        database_guard.refuse_if_open()  # no connect to a server known not to answer
        started = time.monotonic()
        try:
            return super().get_new_connection(conn_params)
        except Exception as exc:
            # A refused connect fails at once; one that ran out its connect timeout met
            # a server that does not answer: a timeout like any other round trip's.
            if time.monotonic() - started >= settings.DATABASE_CONNECT_TIMEOUT * 0.9:
                database_guard.connect_timed_out(exc)
            raise

    def is_usable(self) -> bool:
        # Django's connection health check (CONN_HEALTH_CHECKS): a round trip too.
        if database_guard.active() and database_guard.open_for() is not None:
            return False
        try:
            with database_guard.bounded(self.connection, "a connection check"):
                return super().is_usable()
        except database_guard.DatabaseTimeout:
            return False
