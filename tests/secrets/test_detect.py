"""Plaintext-secret detection: vendor token shapes hit, ordinary configuration values do not."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from mantissa_log.errors import SecretInPlainField
from mantissa_log.secrets.detect import (
    find_secret_kind,
    reject_plaintext_secrets,
    scan_for_secrets,
)

# Fake tokens with the vendors' shapes, assembled so no real-looking literal sits in the source.
R36 = "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5"
POSITIVES = [
    ("https://hooks.slack.com/services/T00000000/B00000000/" + "XXXXXXXXXXXXXXXXXXXXXXXX", "Slack webhook URL"),
    ("https://hooks.slack.com/workflows/T0000/A0000/12345/" + "abcdefabcdef", "Slack webhook URL"),
    ("https://hooks.slack.com/triggers/T0000/12345/" + "abcdef0123456789", "Slack webhook URL"),
    ("xoxb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx", "Slack token"),
    ("xoxp-" + "1234567890-1234567890", "Slack token"),
    ("xapp-1-" + "A0123456789-1234567890-abcdef", "Slack app token"),
    ("sk-" + "proj-" + R36 + "Xy12", "OpenAI API key"),
    ("sk-" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5kL7mN9pQ1rS", "OpenAI API key"),
    ("sk-ant-" + "api03-" + R36 + "-" + R36, "Anthropic API key"),
    ("AKIA" + "IOSFODNN7EXAMPLE", "AWS access key id"),
    ("key id ASIA" + "ABCDEFGHIJKLMNOP in text", "AWS access key id"),
    ("ghp_" + R36, "GitHub token"),
    ("gho_" + R36 + "xyz", "GitHub token"),
    ("github_pat_" + "11ABCDEFG0123456789_" + R36, "GitHub token"),
    ("AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "Google API key"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...", "private key"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----", "private key"),
    ("-----BEGIN PRIVATE KEY-----", "private key"),
    ("ATATT" + "3xFfGF0" + R36 + "=ABCD1234", "Atlassian API token"),
    ("R0" + "1234567890abcdef1234567890abcd", "PagerDuty routing key"),
    ("0123456789abcdef" + "0123456789abcdef", "PagerDuty routing key"),
    ("Bearer " + "abcdef0123456789abcdef0123", "bearer token"),
    ("bearer " + R36, "bearer token"),
    ("Basic " + base64.b64encode(b"admin:hunter2-password").decode(), "basic auth credential"),
    ("https://admin:" + "hunter2@siem.company.com/api", "URL with a password"),
    ("postgres://app:" + "s3cr3t!@db.internal:5432/mantissa", "URL with a password"),
    (
        "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0" + ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "JSON Web Token",
    ),
]

POSITIVES += [
    ("https://discord.com/api/webhooks/123456789012345678/" + R36, "Discord webhook URL"),
    ("https://discordapp.com/api/webhooks/1234567/" + R36, "Discord webhook URL"),
    ("https://acme.webhook.office.com/webhookb2/1234abcd@9876/IncomingWebhook/" + R36, "Microsoft Teams webhook URL"),
    ("https://outlook.office.com/webhook/" + R36, "Microsoft Teams webhook URL"),
    ("123456789:AA" + R36, "Telegram bot token"),
    ("https://api.telegram.org/bot123456789:AA" + R36 + "/sendMessage", "Telegram bot token"),
    ("https://siem.example/hook?token=" + R36[:12], "credential in a URL's query"),
    ("https://siem.example/hook?a=1&api_key=" + R36[:12], "credential in a URL's query"),
    ("https://siem.example/hook?access_token=" + R36[:12], "credential in a URL's query"),
    ("https://x.logic.azure.com/workflows/a/invoke?sp=%2F&sig=" + R36, "credential in a URL's query"),
]

NEGATIVES = [
    "https://siem.example/hook?token=${SECRET}",
    "https://company.atlassian.net/browse?key=PROJ",
    "https://siem.example/search?code=ok",
    "https://discord.com/channels/123/456",
    "claude-3-5-sonnet-20241022",
    "gpt-4o-mini-2024-07-18",
    "#security-alerts",
    "https://company.atlassian.net",
    "https://hooks.slack.com/",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:user-123-jira-api-token",
    "arn:mantissa-log:vault:local:000000000000:secret:user-1/slack-main-AbC123",
    "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "security@company.com",
    "123e4567-e89b-12d3-a456-426614174000",
    "Bearer ${SECRET}",
    "Authorization: Bearer ${SECRET}",
    "Bearer authentication-required",
    "https://siem.company.com/api/alerts",
    "https://user@git.company.com/repo.git",
    "postgres://app:${SECRET}@db.internal:5432/mantissa",
    "https://siem.company.com:8443/api/alerts?x=a@b",
    "abcdefghijklmnopqrstuvwxyzabcdef",  # 32 letters, no digit
    "01234567890123456789012345678901",  # 32 digits, no letter
    "the routing key is 0123456789abcdef0123456789abcdef, see docs",
    "sk-learn-classifier-pipeline-settings",
    "task-force-1234567890-abcdefghijk",
    "xoxo-hugs-and-kisses-forever",
    "rate(5 minutes)",
    "cron(0 12 * * ? *)",
    "mantissa-log",
    "SECURITY",
    "Basic authentication",
    "AKIA is the prefix of long-term keys",
    "user_rules/user-123/brute_force_detection.yaml",
]


@pytest.mark.parametrize(("text", "kind"), POSITIVES)
def test_positives(text: str, kind: str) -> None:
    assert find_secret_kind(text) == kind


@pytest.mark.parametrize("text", NEGATIVES)
def test_negatives(text: str) -> None:
    assert find_secret_kind(text) is None


def test_scan_walks_nested_values() -> None:
    config: dict[str, Any] = {
        "channel": "#alerts",
        "retry_count": 3,
        "enabled": True,
        "headers": {"Content-Type": "application/json", "Authorization": "Bearer ${SECRET}"},
        "recipients": ["security@company.com", "xoxb-" + "123456789012-AbCdEfGhIjKl"],
    }
    assert scan_for_secrets(config, "config") == ("config.recipients.1", "Slack token")
    assert scan_for_secrets(config["headers"]) is None
    assert scan_for_secrets([1, None, 2.5]) is None
    assert scan_for_secrets({"a": ["ghp_" + R36]}) == ("a.0", "GitHub token")


def test_reject_names_field_and_kind_never_value() -> None:
    webhook = "https://hooks.slack.com/services/T00000000/B00000000/" + "XXXXXXXXXXXXXXXXXXXXXXXX"
    with pytest.raises(SecretInPlainField) as info:
        reject_plaintext_secrets({"webhook_url": webhook}, "config")
    err = info.value
    assert err.field == "config.webhook_url"
    assert "Slack webhook URL" in err.message
    assert "write-only secret field" in err.message
    assert webhook not in str(err)
    with pytest.raises(SecretInPlainField, match="an OpenAI API key"):
        reject_plaintext_secrets("sk-" + R36)


def test_reject_accepts_clean_config() -> None:
    reject_plaintext_secrets(
        {
            "url": "https://siem.company.com/api/alerts",
            "headers": {"Authorization": "Bearer ${SECRET}"},
            "model": "claude-3-5-sonnet-20241022",
            "service_key": "arn:aws:secretsmanager:us-east-1:123456789012:secret:user-123-pd",
        },
        "config",
    )
