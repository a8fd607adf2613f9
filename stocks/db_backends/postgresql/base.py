import math

from django.db.backends.postgresql import base

from ... import database_guard
from ..guarded import CANCEL_TIMEOUT_SECONDS, GuardedDatabaseWrapper


class DatabaseWrapper(GuardedDatabaseWrapper, base.DatabaseWrapper):
    def session_of(self, raw):
        return raw.info.backend_pid

    def cancel_session(self, session) -> None:
        # A cut connection's query runs on until it next writes to its client: cancel it
        # from a new connection (libpq's cancel request would wait unbounded).
        params = self._cancel_params()
        params["connect_timeout"] = max(2, math.ceil(CANCEL_TIMEOUT_SECONDS))  # libpq's minimum
        params["options"] = f"-c statement_timeout={int(CANCEL_TIMEOUT_SECONDS * 1000)}"
        canceller = self.Database.connect(**params, autocommit=True)
        try:
            # The server's statement_timeout cannot end a wait on a frozen server: cut it.
            with (
                database_guard.limit(CANCEL_TIMEOUT_SECONDS),
                database_guard.bounded(canceller, "a cancel", refuse=False),
            ):
                canceller.execute("SELECT pg_cancel_backend(%s)", (session,))
        finally:
            canceller.close()
