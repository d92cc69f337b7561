"""Jira REST: exact create body (v2 and v3), auth, comment on repeat while open, new issue once done."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from mantissa_log.outputs.base import OutputContext
from tests.outputs.helpers import Receiver, Recorded, Reply, make_alert, make_ctx, make_integration, send

TOKEN = "jira-token-value"
LINK = "https://mantissa.example/alerts/20261127T100000000000Z-abc123"


class Ledger:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def issue_for(self, integration_key: str, dedup_key: str) -> str | None:
        return self.items.get((integration_key, dedup_key))

    def remember(self, integration_key: str, dedup_key: str, issue_key: str) -> None:
        self.items[(integration_key, dedup_key)] = issue_key

    def forget(self, integration_key: str, dedup_key: str) -> None:
        self.items.pop((integration_key, dedup_key), None)


class FakeJira:
    """Just enough of Jira: create, read status, comment."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {}

    def __call__(self, req: Recorded) -> Reply:
        if req.method == "POST" and re.fullmatch(r"/rest/api/[23]/issue", req.path):
            key = f"SEC-{len(self.status) + 1}"
            self.status[key] = "new"
            return Reply(201, {"id": str(10000 + len(self.status)), "key": key, "self": "x"})
        found = re.fullmatch(r"/rest/api/[23]/issue/([A-Z]+-\d+)(/comment|\?fields=status)", req.path)
        if not found or found.group(1) not in self.status:
            return Reply(404, {"errorMessages": ["Issue does not exist"]})
        if found.group(2) == "/comment":
            return Reply(201, {"id": "1"})
        return Reply(
            200, {"key": found.group(1), "fields": {"status": {"statusCategory": {"key": self.status[found.group(1)]}}}}
        )


@pytest.fixture
def fake(receiver: Receiver) -> FakeJira:
    fake_jira = FakeJira()
    receiver.handler = fake_jira
    return fake_jira


def _integration(receiver: Receiver, **config: Any) -> Any:
    base = {
        "jira_url": receiver.url,
        "project_key": "SEC",
        "issue_type": "Security Finding",
        "assignee": "security-team",
        "labels": ["mantissa-log", "automated"],
        "username": "bot@example.com",
    }
    return make_integration("jira", base | config, secret="jira")


def _ctx(ledger: Ledger | None = None) -> OutputContext:
    return make_ctx(jira_ledger=ledger or Ledger())


def test_create_v2_exact_body_and_basic_auth(receiver: Receiver, fake: FakeJira) -> None:
    result = send(make_alert(), _integration(receiver), _ctx())
    assert (result.ok, result.reference, result.status_code) == (True, "SEC-1", 201)
    (req,) = receiver.requests
    assert (req.method, req.path) == ("POST", "/rest/api/2/issue")
    assert req.headers["authorization"] == "Basic " + base64.b64encode(f"bot@example.com:{TOKEN}".encode()).decode()
    description = "\n".join(
        [
            "[HIGH] Root console login",
            "",
            "*Rule:* Root console login (root_login)",
            "*Severity:* high",
            "*Window:* 2026-11-27T09:55:00Z → 2026-11-27T10:00:00Z",
            "*Matches:* 4",
            "*Source:* cloudtrail",
            "*Group:* user=alice",
            f"*Alert:* [View in Mantissa Log|{LINK}]",
            "",
            "*Sample events:*",
            "{noformat}",
            json.dumps(make_alert().samples, indent=2, sort_keys=True),
            "{noformat}",
        ]
    )
    assert req.json() == {
        "fields": {
            "project": {"key": "SEC"},
            "issuetype": {"name": "Security Finding"},
            "summary": "[HIGH] Root console login",
            "description": description,
            "priority": {"name": "High"},
            "assignee": {"name": "security-team"},
            "labels": ["mantissa-log", "automated"],
        }
    }


def test_repeat_comments_while_open_then_new_issue_once_done(receiver: Receiver, fake: FakeJira) -> None:
    ledger = Ledger()
    integration = _integration(receiver)
    assert send(make_alert(), integration, _ctx(ledger)).reference == "SEC-1"
    again = send(make_alert(occurrences=2), integration, _ctx(ledger))
    assert (again.ok, again.reference, again.message) == (True, "SEC-1", "commented on SEC-1")
    status_check, comment = receiver.requests[1:]
    assert (status_check.method, status_check.path) == ("GET", "/rest/api/2/issue/SEC-1?fields=status")
    assert (comment.method, comment.path) == ("POST", "/rest/api/2/issue/SEC-1/comment")
    assert comment.json()["body"].startswith("Alert fired again: [HIGH] Root console login\n")
    assert "*Occurrences:* 2 (last seen 2026-11-27T10:00:00Z)" in comment.json()["body"]

    fake.status["SEC-1"] = "done"
    third = send(make_alert(), integration, _ctx(ledger))
    assert third.reference == "SEC-2"
    assert ledger.items == {("user-123/jira-main", make_alert().dedup_key): "SEC-2"}


def test_deleted_issue_opens_a_new_one(receiver: Receiver, fake: FakeJira) -> None:
    ledger = Ledger()
    ledger.remember("user-123/jira-main", make_alert().dedup_key, "SEC-99")
    result = send(make_alert(), _integration(receiver), _ctx(ledger))
    assert result.reference == "SEC-1"


def test_v3_uses_adf_account_id_and_bearer(receiver: Receiver, fake: FakeJira) -> None:
    integration = _integration(receiver, api_version="3", username=None, assignee="5b10ac8d82e05b22cc7d4ef5")
    result = send(make_alert(severity="critical"), integration, _ctx())
    assert result.ok
    (req,) = receiver.requests
    assert req.path == "/rest/api/3/issue"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    fields = req.json()["fields"]
    assert fields["assignee"] == {"accountId": "5b10ac8d82e05b22cc7d4ef5"}
    assert fields["priority"] == {"name": "Highest"}
    doc = fields["description"]
    assert (doc["type"], doc["version"]) == ("doc", 1)
    assert doc["content"][0] == {
        "type": "paragraph",
        "content": [{"type": "text", "text": "[CRITICAL] Root console login", "marks": [{"type": "strong"}]}],
    }
    link = next(
        p
        for p in doc["content"]
        if p["type"] == "paragraph" and "marks" in p["content"][0] and p["content"][0]["text"] == "View in Mantissa Log"
    )
    assert link["content"][0]["marks"] == [{"type": "link", "attrs": {"href": LINK}}]
    assert doc["content"][-1]["type"] == "codeBlock"


def test_test_alert_is_marked_and_not_remembered(receiver: Receiver, fake: FakeJira) -> None:
    ledger = Ledger()
    ctx = _ctx(ledger)
    ctx.test = True
    result = send(make_alert(rule_title="x" * 300), _integration(receiver), ctx)
    summary = receiver.requests[0].json()["fields"]["summary"]
    assert summary.startswith("[TEST] [HIGH] ")
    assert len(summary) == 255
    assert result.ok
    assert ledger.items == {}


def test_log_values_cannot_inject_wiki_links(receiver: Receiver, fake: FakeJira) -> None:
    send(make_alert(group={"user": "[click|https://evil]"}), _integration(receiver), _ctx())
    assert r"*Group:* user=\[click\|https://evil\]" in receiver.requests[0].json()["fields"]["description"]


def test_create_failure_is_permanent_and_hides_the_token(receiver: Receiver) -> None:
    receiver.script = [Reply(400, {"errors": {"issuetype": "bad"}, "echo": TOKEN})]
    result = send(make_alert(), _integration(receiver), _ctx())
    assert (result.ok, result.retryable, result.status_code) == (False, False, 400)
    assert TOKEN not in result.message
    assert "issuetype" in result.message
    receiver.script = [Reply(503, "down", {"Retry-After": "30"})]
    again = send(make_alert(), _integration(receiver), _ctx())
    assert (again.retryable, again.retry_after) == (True, 30.0)
