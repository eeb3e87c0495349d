"""Database plumbing below the ORM: the SQLite backend the registry runs on (``framework.db.sqlite3``)."""
