import math

from django.db.backends.postgresql import base

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
            canceller.execute("SELECT pg_cancel_backend(%s)", (session,))
        finally:
            canceller.close()
