"""Amazon Bedrock Converse through boto3 (`bedrock-runtime`), with the user's own AWS access key.

The secret holds the key as JSON `{"aws_access_key_id": ..., "aws_secret_access_key": ...,
"aws_session_token"?: ..., "region"?: ...}` or as `ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]`.
The server's own AWS credentials are never used for a user's model calls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
)

from mantissa_log.errors import DependencyFailed
from mantissa_log.services.llm.providers.common import clean, status_failure
from mantissa_log.services.llm.types import ChatReply, ChatRequest, FailureKind, ProviderFailure

_AUTH = {
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "AccessDeniedException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
}
_RATE = {"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException"}
_SERVER = {"InternalServerException", "ServiceUnavailableException", "ModelNotReadyException"}


@dataclass(frozen=True)
class AwsKey:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    region: str | None = None


def parse_aws_key(value: str) -> AwsKey:
    """The stored secret as an AWS key; a clear error naming `api_key` when it is neither form."""
    text = value.strip()
    if text.startswith("{"):
        try:
            data: Any = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("aws_access_key_id") and data.get("aws_secret_access_key"):
            return AwsKey(
                str(data["aws_access_key_id"]),
                str(data["aws_secret_access_key"]),
                str(data["aws_session_token"]) if data.get("aws_session_token") else None,
                str(data["region"]) if data.get("region") else None,
            )
    else:
        parts = text.split(":")
        if len(parts) in (2, 3) and all(parts):
            return AwsKey(parts[0], parts[1], parts[2] if len(parts) == 3 else None)
    raise DependencyFailed(
        "the stored key is not an AWS access key: store it as ACCESS_KEY_ID:SECRET_ACCESS_KEY or as JSON "
        "with aws_access_key_id and aws_secret_access_key",
        code="llm_key_invalid",
        field="api_key",
    )


class BedrockChat:
    name = "bedrock"

    def __init__(self, key: AwsKey, *, region: str, endpoint_url: str | None, timeout: float) -> None:
        self.secrets = [key.secret_access_key, key.session_token or ""]
        session = boto3.session.Session(
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=key.secret_access_key,
            aws_session_token=key.session_token,
            region_name=key.region or region,
        )
        config = Config(
            connect_timeout=min(timeout, 10.0),
            read_timeout=timeout,
            retries={"total_max_attempts": 1},  # the gateway retries
        )
        self.client: Any = session.client("bedrock-runtime", endpoint_url=endpoint_url, config=config)

    def complete(self, request: ChatRequest) -> ChatReply:
        try:
            answer = self.client.converse(
                modelId=request.model,
                system=[{"text": request.system}],
                messages=[{"role": m.role, "content": [{"text": m.text}]} for m in request.messages],
                inferenceConfig={"maxTokens": request.max_tokens, "temperature": request.temperature},
            )
        except ClientError as exc:
            raise self._client_failure(exc) from None
        except (ReadTimeoutError, ConnectTimeoutError):
            raise ProviderFailure("timeout") from None
        except (EndpointConnectionError, HTTPClientError) as exc:
            raise ProviderFailure("network", type(exc).__name__) from None
        except BotoCoreError as exc:
            raise ProviderFailure("answer", clean(str(exc), self.secrets)) from None
        try:
            content = answer["output"]["message"]["content"]
            text = "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
            usage = answer.get("usage") or {}
        except (KeyError, TypeError):
            raise ProviderFailure("answer", "the answer holds no output message") from None
        return ChatReply(text, int(usage.get("inputTokens") or 0), int(usage.get("outputTokens") or 0), request.model)

    def _client_failure(self, exc: ClientError) -> ProviderFailure:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        meta = exc.response.get("ResponseMetadata", {})
        status = int(meta.get("HTTPStatusCode") or 400)
        message = str(error.get("Message", ""))
        kind: FailureKind | None = None
        if code in _AUTH:
            kind = "auth"
        elif code == "ResourceNotFoundException" or (code == "ValidationException" and "model identifier" in message):
            kind = "model"
        elif code in _RATE:
            kind = "rate"
        elif code in _SERVER:
            kind = "server"
        elif code == "ModelTimeoutException":
            kind = "timeout"
        detail = f"{code}: {message}" if code else message
        return status_failure(status, dict(meta.get("HTTPHeaders") or {}), detail, self.secrets, kind=kind)

    def close(self) -> None:
        self.client.close()
