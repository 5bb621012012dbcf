"""The database: the async engine and its migrations (``db``), URLs (``db_url``), the
SQLite driver and the core SQL tables."""
