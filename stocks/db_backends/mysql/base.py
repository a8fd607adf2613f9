from django.db.backends.mysql import base

from ..guarded import GuardedDatabaseWrapper


class DatabaseWrapper(GuardedDatabaseWrapper, base.DatabaseWrapper):
    pass
