"""One module per provider, each behind `ChatProvider` (services/llm/types.py), each through its official SDK."""
