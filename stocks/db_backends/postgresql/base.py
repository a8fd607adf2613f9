from django.db.backends.postgresql import base

from ..guarded import GuardedDatabaseWrapper


class DatabaseWrapper(GuardedDatabaseWrapper, base.DatabaseWrapper):
    pass
