"""The database and what runs on it: the async engine and its migrations (``db``), URLs
(``db_url``), the SQLite driver, the core SQL tables, durable timers and the cross-process
wake-ups."""
