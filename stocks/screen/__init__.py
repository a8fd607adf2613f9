"""
The screen: ``fields`` declares every screen field once; ``params`` parses a request
against it; ``sql`` runs it on the database (the reference); ``engine`` runs it on an
in-memory columnar snapshot; ``rows`` renders the rows both produce.
"""
