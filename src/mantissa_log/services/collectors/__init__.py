"""Collectors: logs pulled from where they live (S3, SQS, Okta, GitHub, M365, Workspace) into the lake.

See docs/COLLECTORS.md.
"""
