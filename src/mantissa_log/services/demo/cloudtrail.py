"""CloudTrail records of the demo organisation: routine API use, and what the intruder did."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from mantissa_log.services.demo.common import (
    ACCOUNT,
    ATTACKER_IPS,
    BROWSERS,
    CLIS,
    HOME_IPS,
    OFFICE_IPS,
    STAFF,
    VICTIM,
    daytime_moments,
    iso_s,
    new_id,
)

Event = dict[str, Any]
REGIONS = ("us-east-1", "us-east-1", "us-east-1", "eu-west-1", "us-west-2")
APP_ROLES = ("orders-api", "billing-worker", "etl-runner")

# (eventSource, eventName, readOnly, request parameters)
ROUTINE: tuple[tuple[str, str, bool, Event | None], ...] = (
    ("ec2.amazonaws.com", "DescribeInstances", True, {"instancesSet": {}, "filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", True, {"securityGroupSet": {}, "filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeVolumes", True, {"volumeSet": {}, "filterSet": {}}),
    ("s3.amazonaws.com", "ListBuckets", True, {"Host": "s3.amazonaws.com"}),
    ("s3.amazonaws.com", "GetBucketLocation", True, {"bucketName": "acme-build-artifacts", "location": ""}),
    ("iam.amazonaws.com", "ListUsers", True, None),
    ("iam.amazonaws.com", "GetRole", True, {"roleName": "orders-api"}),
    ("sts.amazonaws.com", "GetCallerIdentity", True, None),
    ("logs.amazonaws.com", "DescribeLogGroups", True, {"limit": 50}),
    ("cloudwatch.amazonaws.com", "GetMetricData", True, {"startTime": "", "endTime": ""}),
    ("lambda.amazonaws.com", "ListFunctions20150331", True, None),
    ("rds.amazonaws.com", "DescribeDBInstances", True, None),
    ("ecr.amazonaws.com", "GetAuthorizationToken", True, None),
    ("ec2.amazonaws.com", "RunInstances", False, {"instanceType": "t3.medium", "minCount": 1, "maxCount": 1}),
    ("s3.amazonaws.com", "PutBucketTagging", False, {"bucketName": "acme-build-artifacts", "tagging": ""}),
    ("cloudtrail.amazonaws.com", "DescribeTrails", True, {"trailNameList": []}),
)


def _user(name: str) -> Event:
    return {
        "type": "IAMUser",
        "principalId": "AIDA" + name.upper().replace(".", "")[:12].ljust(12, "X"),
        "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
        "accountId": ACCOUNT,
        "accessKeyId": "AKIA" + name.upper().replace(".", "")[:12].ljust(12, "K"),
        "userName": name,
    }


def _role(role: str, session: str) -> Event:
    return {
        "type": "AssumedRole",
        "principalId": f"AROA{role.upper().replace('-', '')[:12]}:{session}",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}",
        "accountId": ACCOUNT,
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}", "userName": role},
            "attributes": {"mfaAuthenticated": "false"},
        },
    }


def record(
    rng: random.Random,
    at: datetime,
    identity: Event,
    source: str,
    name: str,
    *,
    ip: str,
    agent: str,
    read_only: bool = True,
    params: Event | None = None,
    response: Event | None = None,
    error: tuple[str, str] | None = None,
    extra: Event | None = None,
    event_type: str = "AwsApiCall",
) -> Event:
    event: Event = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": iso_s(at),
        "eventSource": source,
        "eventName": name,
        "awsRegion": rng.choice(REGIONS),
        "sourceIPAddress": ip,
        "userAgent": agent,
        "requestParameters": params,
        "responseElements": response,
        "requestID": new_id(rng),
        "eventID": new_id(rng),
        "readOnly": read_only,
        "eventType": event_type,
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    if error:
        event["errorCode"], event["errorMessage"] = error
    if extra:
        event.update(extra)
    return event


def routine(rng: random.Random, start: datetime, end: datetime, count: int) -> list[Event]:
    events = []
    for at in daytime_moments(rng, start, end, count):
        roll = rng.random()
        if roll < 0.12:  # an application reading its one secret, or decrypting with its key
            role = rng.choice(APP_ROLES)
            identity = _role(role, f"i-0{rng.getrandbits(48):012x}")
            source, name, params = rng.choice(
                (
                    ("secretsmanager.amazonaws.com", "GetSecretValue", {"secretId": f"prod/{role}/db"}),
                    ("kms.amazonaws.com", "Decrypt", {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
                )
            )
            events.append(record(rng, at, identity, source, name, ip="10.20.3.14", agent=CLIS[1], params=params))
            continue
        if roll < 0.16:  # people signing in to the console, with MFA
            who = rng.choice(STAFF)
            events.append(
                record(
                    rng,
                    at,
                    _user(who),
                    "signin.amazonaws.com",
                    "ConsoleLogin",
                    ip=rng.choice(OFFICE_IPS + HOME_IPS),
                    agent=rng.choice(BROWSERS),
                    read_only=False,
                    response={"ConsoleLogin": "Success"},
                    extra={
                        "additionalEventData": {
                            "LoginTo": "https://console.aws.amazon.com/console/home",
                            "MobileVersion": "No",
                            "MFAUsed": "Yes",
                        }
                    },
                    event_type="AwsConsoleSignIn",
                )
            )
            continue
        source, name, read_only, request = rng.choice(ROUTINE)
        if roll < 0.45:
            identity = _role("ci-deployer", f"gh-actions-{rng.randrange(1000, 9999)}")
            agent = CLIS[2]
        else:
            identity = _user(rng.choice(STAFF))
            agent = rng.choice(CLIS + BROWSERS[:1])
        error = ("AccessDenied", "User is not authorized to perform this operation") if rng.random() < 0.03 else None
        ip = rng.choice(OFFICE_IPS + HOME_IPS)
        events.append(
            record(
                rng, at, identity, source, name, ip=ip, agent=agent, read_only=read_only, params=request, error=error
            )
        )
    return events


def intrusion(rng: random.Random, t: datetime) -> list[Event]:
    """From a password-only console sign-in to disabling the defences, in about an hour."""
    me = _user(VICTIM)
    ip, cli = ATTACKER_IPS[0], CLIS[0]
    browser = BROWSERS[2]
    events = [
        record(
            rng,
            t + timedelta(minutes=25),
            me,
            "signin.amazonaws.com",
            "ConsoleLogin",
            ip=ip,
            agent=browser,
            read_only=False,
            response={"ConsoleLogin": "Success"},
            extra={
                "additionalEventData": {
                    "LoginTo": "https://console.aws.amazon.com/console/home",
                    "MobileVersion": "No",
                    "MFAUsed": "No",
                }
            },
            event_type="AwsConsoleSignIn",
        ),
        record(
            rng,
            t + timedelta(minutes=31),
            me,
            "iam.amazonaws.com",
            "CreateAccessKey",
            ip=ip,
            agent=cli,
            read_only=False,
            params={"userName": "svc-backup"},
            response={
                "accessKey": {"accessKeyId": "AKIAEXAMPLENEWKEY77", "status": "Active", "userName": "svc-backup"}
            },
        ),
    ]
    for n in range(26):  # every production secret, one after another
        secret = f"prod/{('orders-api', 'billing-worker', 'etl-runner', 'payments', 'stripe', 'github-app')[n % 6]}/{n}"
        events.append(
            record(
                rng,
                t + timedelta(minutes=35, seconds=9 * n),
                me,
                "secretsmanager.amazonaws.com",
                "GetSecretValue",
                ip=ip,
                agent=cli,
                params={"secretId": secret},
            )
        )
    for n in range(12):  # Windows administrator passwords of every instance it can see
        denied = (
            ("Client.UnauthorizedOperation", "You are not authorized to perform this operation.")
            if n % 4 == 3
            else None
        )
        events.append(
            record(
                rng,
                t + timedelta(minutes=40, seconds=20 * n),
                me,
                "ec2.amazonaws.com",
                "GetPasswordData",
                ip=ip,
                agent=cli,
                params={"instanceId": f"i-0{rng.getrandbits(48):012x}"},
                error=denied,
            )
        )
    events += [
        record(
            rng,
            t + timedelta(minutes=46),
            me,
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            ip=ip,
            agent=cli,
            read_only=False,
            params={
                "groupId": "sg-0a1b2c3d4e5f60718",
                "ipPermissions": {
                    "items": [
                        {
                            "ipProtocol": "tcp",
                            "fromPort": 22,
                            "toPort": 22,
                            "groups": {},
                            "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]},
                            "ipv6Ranges": {},
                            "prefixListIds": {},
                        }
                    ]
                },
            },
        ),
        record(
            rng,
            t + timedelta(minutes=50),
            me,
            "s3.amazonaws.com",
            "PutBucketPolicy",
            ip=ip,
            agent=cli,
            read_only=False,
            params={
                "bucketName": "acme-customer-exports",
                "bucketPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "Exfil",
                            "Effect": "Allow",
                            "Principal": "*",
                            "Action": "s3:GetObject",
                            "Resource": "arn:aws:s3:::acme-customer-exports/*",
                        }
                    ],
                },
            },
        ),
        record(
            rng,
            t + timedelta(minutes=55),
            me,
            "cloudtrail.amazonaws.com",
            "StopLogging",
            ip=ip,
            agent=cli,
            read_only=False,
            params={"name": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail"},
        ),
        record(
            rng,
            t + timedelta(minutes=57),
            me,
            "guardduty.amazonaws.com",
            "DeleteDetector",
            ip=ip,
            agent=cli,
            read_only=False,
            params={"detectorId": "12abc34d567e8fa901bc2d34e56789f0"},
        ),
        record(
            rng,
            t + timedelta(minutes=60),
            me,
            "kms.amazonaws.com",
            "ScheduleKeyDeletion",
            ip=ip,
            agent=cli,
            read_only=False,
            params={
                "keyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "pendingWindowInDays": 7,
            },
            response={"keyState": "PendingDeletion"},
        ),
    ]
    return events


def break_glass(rng: random.Random, at: datetime) -> list[Event]:
    """The root user signing in from the office (with MFA): worth an alert, probably legitimate."""
    root = {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT}
    return [
        record(
            rng,
            at,
            root,
            "signin.amazonaws.com",
            "ConsoleLogin",
            ip=OFFICE_IPS[0],
            agent=BROWSERS[0],
            read_only=False,
            response={"ConsoleLogin": "Success"},
            extra={
                "additionalEventData": {
                    "LoginTo": "https://console.aws.amazon.com/billing/home",
                    "MobileVersion": "No",
                    "MFAUsed": "Yes",
                }
            },
            event_type="AwsConsoleSignIn",
        )
    ]
