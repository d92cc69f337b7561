"""Secrets: the store for secret values (local vault | AWS Secrets Manager) and envelope encryption."""
