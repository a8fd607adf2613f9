"""
Django's MySQL and PostgreSQL backends, with each web request's round trips bounded
(``stocks.database_guard``). Settings select them for ``mysql://`` and ``postgres://``
URLs; everything else is Django's own.
"""
