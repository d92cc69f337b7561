"""Deterministic, realistic CloudTrail events for the detection benchmark.

Templates are the real CloudTrail events of the conformance corpus (`../shared/corpus/events`, read at
run time, never copied into this repository): 728 events over 334 (eventSource, eventName) pairs from
Stratus Red Team, TrailDiscover and OTRF. Each generated event takes one template's body (request
parameters, response elements, additionalEventData, booleans such as readOnly/managementEvent,
numbers, nested objects, nulls) and varies what differs between real events: eventTime, eventID,
requestID, region, caller identity (IAM users, role sessions with sessionContext, AWS services, root,
federated users), source IP, userAgent, and errorCode/errorMessage.

Match rate: the AWS rules of the corpus select on (eventSource, eventName) pairs. Templates with a
selected pair ("hot") are drawn for `HOT_SHARE` of the events, every other template for the rest, so
a realistic small fraction of events (about 1 %) matches any rule. Role sessions are kept rare on
purpose: `aws_sts_assumerole_misuse` matches every role session, so a role-heavy mix would make that
one rule match most events. Pairs the rules name but the corpus has no event for are synthesised
from a template of the same service with the eventName replaced.

Some events are shaped to exercise semantics where engines can disagree (the benchmark reports
them): boolean values compared as text (`requestParameters.enable: 'false'`,
`responseElements.publiclyAccessible: 'true'`), `contains` on an object-valued field
(`requestParameters|contains: Suspended`, `responseElements|contains: Failure`), a field path through
an array of objects (`requestParameters.containerDefinitions.command`), `fieldref`, `null`, and
`NOT` over absent fields.
"""

from __future__ import annotations

import calendar
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SEED = 20261127
HOT_SHARE = 0.004
START = calendar.timegm((2026, 11, 1, 0, 0, 0, 0, 0, 0))
SPAN_SECONDS = 86_400

# Keys every generated event sets itself (in CloudTrail's own order), and keys the corpus adds that
# CloudTrail does not have (OTRF's Logstash export).
HEAD = ("eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress")
VARIED = (*HEAD, "userAgent", "errorCode", "errorMessage", "requestID", "eventID", "recipientAccountId")
DROPPED = ("@timestamp", "@version")

ACCOUNTS = ("111122223333", "444455556666", "777788889999")
REGIONS = ("us-east-1", "us-east-1", "us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
USER_NAMES = (
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj",
    "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yves", "ci-deployer", "terraform",
    "backup-svc", "monitoring", "data-pipeline", "jenkins", "github-actions", "log-shipper", "billing-ro", "auditor",
)  # fmt: skip
ROLE_NAMES = (
    "OrganizationAccountAccessRole", "AWSReservedSSO_AdministratorAccess_6c63ce732f55", "eks-node-group-role",
    "lambda-exec-orders", "ReadOnlyAuditRole", "ecsTaskExecutionRole",
)  # fmt: skip
SERVICES = ("cloudtrail.amazonaws.com", "config.amazonaws.com", "autoscaling.amazonaws.com", "ec2.amazonaws.com")
USER_AGENTS = (
    "aws-cli/2.17.32 md/awscrt#0.21.2 ua/2.0 os/linux#5.15.0 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython "
    "cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#ec2.describe-instances",
    "Boto3/1.34.120 md/Botocore#1.34.120 ua/2.0 os/linux#5.10.219 md/arch#x86_64 lang/python#3.11.6 "
    "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.120",
    "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.171.0",
    "APN/1.0 HashiCorp/1.0 Terraform/1.9.2 (+https://www.terraform.io) terraform-provider-aws/5.59.0",
    "console.amazonaws.com",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0",
    "aws-internal/3 aws-sdk-java/1.12.746 Linux/5.10.219 OpenJDK_64-Bit_Server_VM/25.412-b09 java/1.8.0_412",
)
RARE_USER_AGENTS = ("TruffleHog", "S3 Browser 11.5.7 https://s3browser.com")
ERRORS = (
    ("AccessDenied", "User is not authorized to perform this operation"),
    ("Client.UnauthorizedOperation", "You are not authorized to perform this operation."),
    ("ThrottlingException", "Rate exceeded"),
    ("NoSuchBucket", "The specified bucket does not exist"),
    ("ResourceNotFoundException", "The requested resource was not found"),
)
# Identity kinds and their shares of all events.
IDENTITY_SHARES = (
    ("IAMUser", 0.955),
    ("AWSService", 0.03),
    ("FederatedUser", 0.004),
    ("AssumedRole", 0.006),
    ("AssumedRoleAws", 0.0008),  # instance credentials: arn .../assumed-role/aws:ec2-instance/i-...
    ("Root", 0.0004),
    ("None", 0.0001),  # no userIdentity at all
)

Event = dict[str, Any]
Mutator = Callable[[Event, random.Random, Event], None]


@dataclass(frozen=True)
class Template:
    source: str
    name: str
    body: Event  # the template without the keys every event sets itself
    head: Event  # eventVersion, eventSource, eventName
    user_agent: str | None


def _selection_pairs(detection: dict[str, Any]) -> set[tuple[str | None, str, bool]]:
    """(eventSource or None, eventName, is_prefix) for every selection of a rule."""
    pairs: set[tuple[str | None, str, bool]] = set()
    for key, value in detection.items():
        if key == "condition":
            continue
        for mapping in value if isinstance(value, list) else [value]:
            if not isinstance(mapping, dict):
                continue
            names: list[tuple[str, bool]] = []
            sources: list[str | None] = []
            for field, wanted in mapping.items():
                base, _, modifiers = str(field).partition("|")
                values = [str(v) for v in (wanted if isinstance(wanted, list) else [wanted])]
                if base == "eventName":
                    names.extend((v, "startswith" in modifiers) for v in values)
                elif base == "eventSource":
                    sources.extend(values)
            pairs.update((source, name, prefix) for name, prefix in names for source in sources or [None])
    return pairs


def rule_pairs(corpus: Path = CORPUS) -> set[tuple[str | None, str, bool]]:
    pairs: set[tuple[str | None, str, bool]] = set()
    for path in sorted((corpus / "rules").glob("aws_*.yml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict) and isinstance(document.get("detection"), dict):
                pairs |= _selection_pairs(document["detection"])
    return pairs


def _template(record: Event) -> Template:
    body = {k: v for k, v in record.items() if k not in VARIED and k not in DROPPED}
    head = {"eventVersion": record.get("eventVersion", "1.09"), "eventSource": record["eventSource"]}
    head["eventName"] = record["eventName"]
    agent = record.get("userAgent")
    return Template(record["eventSource"], record["eventName"], body, head, agent if isinstance(agent, str) else None)


def load_templates(corpus: Path = CORPUS) -> tuple[list[list[Template]], list[list[Template]]]:
    """Templates grouped by (eventSource, eventName): (hot groups, background groups)."""
    groups: dict[tuple[str, str], list[Template]] = {}
    for path in sorted((corpus / "events").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if isinstance(record, dict) and record.get("eventSource") and record.get("eventName"):
                template = _template(record)
                groups.setdefault((template.source, template.name), []).append(template)
    pairs = rule_pairs(corpus)

    def is_hot(source: str, name: str) -> bool:
        return any(
            (s is None or s == source) and (name.startswith(n) if prefix else name == n) for s, n, prefix in pairs
        )

    hot = {key: group for key, group in groups.items() if is_hot(*key)}
    background = [group for key, group in sorted(groups.items()) if key not in hot]
    by_source: dict[str, Template] = {}
    for (source, _), group in sorted(groups.items()):
        by_source.setdefault(source, group[0])
    generic = groups[("ec2.amazonaws.com", "CreateRoute")][0]
    for wanted, name, prefix in sorted(pairs, key=lambda p: (p[0] or "", p[1])):
        if wanted is None or prefix or (wanted, name) in hot:
            continue
        base = by_source.get(wanted, generic)
        head = {**base.head, "eventSource": wanted, "eventName": name}
        hot[(wanted, name)] = [Template(wanted, name, base.body, head, base.user_agent)]
    return [hot[key] for key in sorted(hot)], background


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(4 * digits):0{digits}x}"


def _uuid(rng: random.Random) -> str:
    h = _hex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:]}"


def _key_id(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))


def _session_context(issuer: Event, rng: random.Random) -> Event:
    return {
        "sessionIssuer": issuer,
        "webIdFederationData": {},
        "attributes": {"creationDate": "2026-10-31T23:12:45Z", "mfaAuthenticated": rng.choice(["false", "true"])},
    }


def identities(rng: random.Random) -> dict[str, list[Event]]:
    """Caller identities per kind, shared (never mutated) by the events that use them."""
    pool: dict[str, list[Event]] = {kind: [] for kind, _ in IDENTITY_SHARES}
    for number, name in enumerate(USER_NAMES * 4):
        account = ACCOUNTS[number % len(ACCOUNTS)]
        user = name if number < len(USER_NAMES) else f"{name}{number}"
        identity: Event = {
            "type": "IAMUser",
            "principalId": _key_id(rng, "AIDA"),
            "arn": f"arn:aws:iam::{account}:user/{user}",
            "accountId": account,
            "accessKeyId": _key_id(rng, "AKIA"),
            "userName": user,
        }
        if number % 5 == 0:  # console sessions carry an empty issuer
            identity["sessionContext"] = _session_context({}, rng)
        pool["IAMUser"].append(identity)
    for number, role in enumerate(ROLE_NAMES * 3):
        account = ACCOUNTS[number % len(ACCOUNTS)]
        role_id = _key_id(rng, "AROA")
        session = USER_NAMES[number % len(USER_NAMES)]
        issuer = {
            "type": "Role",
            "principalId": role_id,
            "arn": f"arn:aws:iam::{account}:role/{role}",
            "accountId": account,
            "userName": role,
        }
        pool["AssumedRole"].append(
            {
                "type": "AssumedRole",
                "principalId": f"{role_id}:{session}",
                "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
                "accountId": account,
                "accessKeyId": _key_id(rng, "ASIA"),
                "sessionContext": _session_context(issuer, rng),
            }
        )
        instance = f"i-0{_hex(rng, 16)}"
        aws_issuer = {**issuer, "arn": f"arn:aws:iam::{account}:role/aws:ec2-instance", "userName": "aws:ec2-instance"}
        pool["AssumedRoleAws"].append(
            {
                "type": "AssumedRole",
                "principalId": f"{role_id}:{instance}",
                "arn": f"arn:aws:sts::{account}:assumed-role/aws:ec2-instance/{instance}",
                "accountId": account,
                "accessKeyId": _key_id(rng, "ASIA"),
                "sessionContext": {**_session_context(aws_issuer, rng), "ec2RoleDelivery": "2.0"},
            }
        )
    for service in SERVICES:
        pool["AWSService"].append({"type": "AWSService", "invokedBy": service})
    for account in ACCOUNTS:
        pool["Root"].append(
            {
                "type": "Root",
                "principalId": account,
                "arn": f"arn:aws:iam::{account}:root",
                "accountId": account,
                "accessKeyId": _key_id(rng, "ASIA"),
            }
        )
        for name in ("okta-admin", "partner-sync"):
            pool["FederatedUser"].append(
                {
                    "type": "FederatedUser",
                    "principalId": f"{account}:{name}",
                    "arn": f"arn:aws:sts::{account}:federated-user/{name}",
                    "accountId": account,
                    "accessKeyId": _key_id(rng, "ASIA"),
                    "sessionContext": _session_context({"type": "IAMUser", "userName": "federation"}, rng),
                }
            )
    pool["None"].append({})
    return pool


# ---- per-eventName shaping: replaces nested objects wholesale, never mutates a template's objects


def _console_login(ev: Event, rng: random.Random, identity: Event) -> None:
    ev["additionalEventData"] = {
        "LoginTo": "https://console.aws.amazon.com/console/home",
        "MobileVersion": "No",
        "MFAUsed": rng.choice(["Yes", "No"]),
    }
    failed = rng.random() < 0.3
    ev["responseElements"] = {"ConsoleLogin": "Failure" if failed else "Success"}
    if failed:
        ev["errorMessage"] = "Failed authentication"


def _bucket_versioning(ev: Event, rng: random.Random, identity: Event) -> None:
    status = rng.choice(["Enabled", "Suspended"])
    ev["requestParameters"] = {
        "bucketName": f"corp-data-{rng.randrange(50)}",
        "Host": "s3.amazonaws.com",
        "VersioningConfiguration": {"Status": status, "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"},
        "versioning": "",
    }


def _update_detector(ev: Event, rng: random.Random, identity: Event) -> None:
    ev["requestParameters"] = {
        "detectorId": _hex(rng, 32),
        "enable": rng.random() < 0.5,
        "findingPublishingFrequency": "SIX_HOURS",
    }
    ev["responseElements"] = None


def _restore_db(ev: Event, rng: random.Random, identity: Event) -> None:
    public = rng.random() < 0.4
    name = f"restored-{rng.randrange(1000)}"
    ev["requestParameters"] = {
        "dBInstanceIdentifier": name,
        "dBSnapshotIdentifier": "nightly",
        "publiclyAccessible": public,
    }
    ev["responseElements"] = {
        "dBInstanceIdentifier": name,
        "dBInstanceStatus": "creating",
        "publiclyAccessible": public,
        "allocatedStorage": 20,
        "multiAZ": False,
    }


def _modify_db(ev: Event, rng: random.Random, identity: Event) -> None:
    pending: Event = {"masterUserPassword": "****"} if rng.random() < 0.5 else {}
    ev["requestParameters"] = {"dBInstanceIdentifier": "orders-db", "applyImmediately": True}
    ev["responseElements"] = {"dBInstanceIdentifier": "orders-db", "pendingModifiedValues": pending}


def _register_task(ev: Event, rng: random.Random, identity: Event) -> None:
    command = ["sh", "-c", "python app.py"]
    if rng.random() < 0.3:
        command = ["sh", "-c", "curl 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]
    ev["requestParameters"] = {
        "family": "orders",
        "containerDefinitions": [
            {"name": "sidecar", "image": "public.ecr.aws/xray:latest", "essential": False},
            {"name": "app", "image": "123.dkr.ecr.us-east-1.amazonaws.com/app:1", "command": command, "cpu": 256},
        ],
        "requiresCompatibilities": ["FARGATE"],
    }


def _export_task(ev: Event, rng: random.Random, identity: Event) -> None:
    message = rng.choice(["", "", "Failure: the instance has attached volumes that cannot be exported"])
    ev["responseElements"] = {
        "exportTask": {"exportTaskId": f"export-i-{_hex(rng, 17)}", "state": "active", "statusMessage": message}
    }


def _function_configuration(ev: Event, rng: random.Random, identity: Event) -> None:
    parameters: Event = {"functionName": f"orders-{rng.randrange(20)}", "timeout": 30}
    if rng.random() < 0.5:
        parameters["layers"] = [f"arn:aws:lambda:us-east-1:{ACCOUNTS[0]}:layer:ext:{rng.randrange(9)}"]
    ev["requestParameters"] = parameters if rng.random() < 0.9 else None


def _s3_browser(ev: Event, rng: random.Random, identity: Event) -> None:
    if rng.random() < 0.15:
        ev["userAgent"] = RARE_USER_AGENTS[1]


def _caller_identity(ev: Event, rng: random.Random, identity: Event) -> None:
    if rng.random() < 0.1:
        ev["userAgent"] = RARE_USER_AGENTS[0]


def _create_access_key(ev: Event, rng: random.Random, identity: Event) -> None:
    _s3_browser(ev, rng, identity)
    user = identity.get("userName") if rng.random() < 0.5 else rng.choice(USER_NAMES)
    ev["requestParameters"] = {"userName": user}
    ev["responseElements"] = {
        "accessKey": {"accessKeyId": _key_id(rng, "AKIA"), "status": "Active", "userName": user, "createDate": "x"}
    }


def _update_login_profile(ev: Event, rng: random.Random, identity: Event) -> None:
    arn = str(identity.get("arn", ""))
    user = rng.choice([rng.choice(USER_NAMES), arn, arn.upper()])  # fieldref: equal to the caller's arn, any case
    ev["requestParameters"] = {"userName": user, "passwordResetRequired": rng.random() < 0.5}


def _signin_token(ev: Event, rng: random.Random, identity: Event) -> None:
    if rng.random() < 0.5:
        ev["userAgent"] = "Jersey/${project.version} (HttpUrlConnection 1.8.0_412)"


def _instance_attribute(ev: Event, rng: random.Random, identity: Event) -> None:
    attribute = rng.choice(["userData", "instanceType", "disableApiTermination"])
    ev["requestParameters"] = {"instanceId": f"i-0{_hex(rng, 16)}", "attribute": attribute, "value": "x"}


def _put_user_policy(ev: Event, rng: random.Random, identity: Event) -> None:
    if rng.random() < 0.3:
        ev["userAgent"] = RARE_USER_AGENTS[1]
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::<YOUR-BUCKET-NAME>/*"}],
    }
    ev["requestParameters"] = {
        "userName": rng.choice(USER_NAMES),
        "policyName": "s3",
        "policyDocument": json.dumps(document),
    }


MUTATORS: dict[str, Mutator] = {
    "ConsoleLogin": _console_login,
    "PutBucketVersioning": _bucket_versioning,
    "UpdateDetector": _update_detector,
    "RestoreDBInstanceFromDBSnapshot": _restore_db,
    "ModifyDBInstance": _modify_db,
    "RegisterTaskDefinition": _register_task,
    "CreateInstanceExportTask": _export_task,
    "UpdateFunctionConfiguration20150331v2": _function_configuration,
    "CreateAccessKey": _create_access_key,
    "UpdateLoginProfile": _update_login_profile,
    "GetSigninToken": _signin_token,
    "ModifyInstanceAttribute": _instance_attribute,
    "PutUserPolicy": _put_user_policy,
    "CreateUser": _s3_browser,
    "GetLoginProfile": _s3_browser,
    "CreateLoginProfile": _s3_browser,
    "GetCallerIdentity": _caller_identity,
}


def _cumulative(shares: tuple[tuple[str, float], ...]) -> list[tuple[float, str]]:
    total = sum(share for _, share in shares)
    out, running = [], 0.0
    for kind, share in shares:
        running += share / total
        out.append((running, kind))
    return out


def events(n: int, seed: int = SEED, corpus: Path = CORPUS) -> Iterator[Event]:
    """`n` CloudTrail events as dicts; the same `n` and `seed` always give the same events."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    hot, background = load_templates(corpus)
    pool = identities(rng)
    kinds = _cumulative(IDENTITY_SHARES)
    step = SPAN_SECONDS / max(n, 1)
    last_second, stamp = -1, ""
    for index in range(n):
        groups = hot if rng.random() < HOT_SHARE else background
        template = rng.choice(rng.choice(groups))
        draw = rng.random()
        kind = next((k for bound, k in kinds if draw < bound), kinds[-1][1])
        identity = rng.choice(pool[kind])
        second = START + int(index * step)
        if second != last_second:
            last_second, stamp = second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
        account = identity.get("accountId", ACCOUNTS[0])
        if kind == "AWSService":
            source_ip = agent = identity["invokedBy"]
        else:
            source_ip = "AWS Internal" if rng.random() < 0.02 else f"203.0.{rng.randrange(256)}.{rng.randrange(256)}"
            roll = rng.random()
            if roll < 0.0003:
                agent = rng.choice(RARE_USER_AGENTS)
            elif roll < 0.2 and template.user_agent:
                agent = template.user_agent
            else:
                agent = rng.choice(USER_AGENTS)
        ev: Event = {"eventVersion": template.head["eventVersion"]}
        if kind != "None":
            ev["userIdentity"] = identity
        ev["eventTime"] = stamp
        ev["eventSource"] = template.head["eventSource"]
        ev["eventName"] = template.head["eventName"]
        ev["awsRegion"] = rng.choice(REGIONS)
        ev["sourceIPAddress"] = source_ip
        ev["userAgent"] = agent
        ev.update(template.body)
        roll = rng.random()
        if roll < 0.04:
            code, message = rng.choice(ERRORS)
            ev["errorCode"] = code
            if roll < 0.03:
                ev["errorMessage"] = message
        elif roll < 0.041:
            ev["errorCode"] = "Success"
        mutate = MUTATORS.get(template.name)
        if mutate is not None:
            mutate(ev, rng, identity)
        if kind in ("AWSService", "Root") and rng.random() < 0.3:
            ev["eventType"] = "AwsServiceEvent"
        ev["requestID"] = _uuid(rng)
        ev["eventID"] = _uuid(rng)
        ev["recipientAccountId"] = account
        yield ev


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def write_jsonl(path: Path, n: int, seed: int = SEED, corpus: Path = CORPUS) -> int:
    """Write `n` events as JSON lines (what CloudTrail consumers read); returns the file's size in bytes."""
    with path.open("w", encoding="utf-8") as out:
        batch: list[str] = []
        for event in events(n, seed, corpus):
            batch.append(_ENCODE(event))
            if len(batch) == 10_000:
                out.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            out.write("\n".join(batch) + "\n")
    return path.stat().st_size
