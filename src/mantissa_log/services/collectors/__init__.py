"""Collectors: logs pulled from where they live (S3, SQS, Okta, GitHub) into the lake (docs/COLLECTORS.md)."""
