"""The store suite (SQLite and PostgreSQL)."""
