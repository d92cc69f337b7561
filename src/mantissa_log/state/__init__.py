"""State: the tables, behind one backend interface (SQLite embedded, DynamoDB scale-out)."""
