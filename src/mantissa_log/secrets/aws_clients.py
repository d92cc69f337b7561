"""boto3 clients in one place, so an endpoint override (moto, LocalStack) is applied uniformly."""

from __future__ import annotations

from typing import Any

import boto3


def make_aws_client(service: str, region: str | None, endpoint_url: str | None) -> Any:
    """A boto3 client; `endpoint_url` None means the real AWS endpoint for `region`."""
    kwargs: dict[str, Any] = {}
    if region:
        kwargs["region_name"] = region
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    return boto3.client(service, **kwargs)
