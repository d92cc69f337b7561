"""Detection use cases: rules (body + metadata), runs over the lake, alerts."""
