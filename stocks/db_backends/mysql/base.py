from django.db.backends.mysql import base

from ..guarded import CANCEL_TIMEOUT_SECONDS, GuardedDatabaseWrapper


class DatabaseWrapper(GuardedDatabaseWrapper, base.DatabaseWrapper):
    def session_of(self, raw):
        return raw.thread_id()

    def cancel_session(self, session) -> None:
        # A cut connection's query runs on (a SELECT until it sends its rows, an UPDATE
        # waiting on a lock until it gets it, and commits): KILL QUERY from a new connection.
        seconds = max(1, round(CANCEL_TIMEOUT_SECONDS))
        params = self._cancel_params()
        params.update(connect_timeout=seconds, read_timeout=seconds, write_timeout=seconds)
        killer = self.Database.connect(**params)
        try:
            killer.cursor().execute("KILL QUERY %s", (session,))
        finally:
            killer.close()
