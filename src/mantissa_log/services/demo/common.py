"""Shared pieces of the demo generator: the organisation, its people, addresses and clients."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

ACCOUNT = "210987654321"
ORG = "acme-corp"
OKTA_DOMAIN = "acme.example"
# The intruder: Tor exit and VPS addresses from documentation ranges.
ATTACKER_IPS = ("185.220.101.34", "185.220.101.47")
ATTACKER_UA = "python-requests/2.32.3"
VICTIM = "dana.w"

STAFF = (
    "alice.ops", "bob.dev", "carol.sre", "dana.w", "erin.data", "frank.fin", "grace.sec", "heidi.pm",
    "ivan.dev", "judy.hr", "ken.dev", "lena.sre", "marco.data", "nina.it", "oscar.dev", "priya.n",
)  # fmt: skip
OFFICE_IPS = ("198.51.100.23", "198.51.100.24", "198.51.100.61", "203.0.113.10", "203.0.113.11")
HOME_IPS = ("192.0.2.45", "192.0.2.77", "192.0.2.130", "192.0.2.188", "192.0.2.201", "203.0.113.77")
BROWSERS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
)
CLIS = (
    "aws-cli/2.17.32 md/awscrt#0.21.2 ua/2.0 os/linux#5.15.0 md/arch#x86_64 lang/python#3.11.9",
    "Boto3/1.34.120 md/Botocore#1.34.120 ua/2.0 os/linux#5.10.219 md/arch#x86_64 lang/python#3.11.6",
    "APN/1.0 HashiCorp/1.0 Terraform/1.9.2 (+https://www.terraform.io) terraform-provider-aws/5.59.0",
    "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64",
)
REPOS = ("payments-service", "web-frontend", "infra-terraform", "data-pipeline", "mobile-app", "docs")


def new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def daytime_moments(rng: random.Random, start: datetime, end: datetime, count: int) -> list[datetime]:
    """`count` moments in [start, end), denser during working hours (08-19 UTC): a real day's shape."""
    span = (end - start).total_seconds()
    found: list[datetime] = []
    while len(found) < count:
        moment = start + timedelta(seconds=rng.random() * span)
        weight = 1.0 if 8 <= moment.hour < 19 else 0.25
        if rng.random() < weight:
            found.append(moment)
    return sorted(found)


def iso_ms(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_s(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
