"""
The part both guarded backends share: every place a web request's round trip starts (a
query, a commit or rollback, a change of autocommit, the setup of a new connection, Django's
connection check), bounded by ``stocks.database_guard``; and how each server is asked to stop
the work of a query that was cut.
"""

from __future__ import annotations

import time
from functools import partial

from django.conf import settings

from .. import database_guard

CANCEL_TIMEOUT_SECONDS = 2.0


def _bounded_execute(execute, sql, params, many, context):
    db = context["connection"]
    with db._bounded("a query"):
        return execute(sql, params, many, context)


class GuardedDatabaseWrapper:
    """Mixed in before Django's ``DatabaseWrapper`` of the vendor."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.execute_wrappers.append(_bounded_execute)

    def session_of(self, raw):
        """The server's id of the driver connection ``raw`` (what cancel_session takes)."""
        raise NotImplementedError

    def cancel_session(self, session) -> None:
        """
        Ask the server to stop what ``session`` is running, from a new connection (bounded:
        a server that does not answer is frozen, and then nothing can stop the statement it
        holds; it may still run when the server wakes). Not through a pooler (PgBouncer,
        ProxySQL), whose sessions are not the server's.
        """
        raise NotImplementedError

    def _bounded(self, what: str, *, refuse: bool = True):
        # The session is read now, from the connection the round trip uses (never one it
        # had before: the server may have restarted, its ids begun again).
        try:
            session = None if self.connection is None else self.session_of(self.connection)
        except Exception:  # noqa: BLE001 - a closed connection has none: nothing to cancel
            session = None
        cancel = None if session is None else partial(self.cancel_session, session)
        return database_guard.bounded(self.connection, what, refuse=refuse, cancel=cancel)

    def _cancel_params(self) -> dict:
        params = self.get_connection_params()
        params.pop("init_command", None)
        return params

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

    def init_connection_state(self):
        with self._bounded("setting up a connection"):
            super().init_connection_state()

    def _commit(self):
        with self._bounded("a commit"):
            return super()._commit()

    def _rollback(self):
        with self._bounded("a rollback", refuse=False):  # Django's cleanup must still run
            return super()._rollback()

    def _set_autocommit(self, autocommit):
        with self._bounded("a change of autocommit"):
            return super()._set_autocommit(autocommit)

    def is_usable(self) -> bool:
        # Django's connection health check (CONN_HEALTH_CHECKS): a round trip too.
        if database_guard.active() and database_guard.open_for() is not None:
            return False
        try:
            with self._bounded("a connection check"):
                return super().is_usable()
        except database_guard.DatabaseTimeout:
            return False
