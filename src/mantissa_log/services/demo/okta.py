"""Okta System Log events of the demo organisation: sign-ins all day, and a password spray that works."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from mantissa_log.services.demo.common import (
    ATTACKER_IPS,
    ATTACKER_UA,
    BROWSERS,
    HOME_IPS,
    OFFICE_IPS,
    OKTA_DOMAIN,
    STAFF,
    VICTIM,
    daytime_moments,
    iso_ms,
    new_id,
)

Event = dict[str, Any]
APPS = ("AWS IAM Identity Center", "GitHub Enterprise", "Slack", "Jira Cloud", "Google Workspace")


def _actor(name: str) -> Event:
    return {
        "id": "00u" + name.replace(".", "")[:10].ljust(10, "x") + "697",
        "type": "User",
        "alternateId": f"{name}@{OKTA_DOMAIN}",
        "displayName": name.replace(".", " ").title(),
        "detailEntry": None,
    }


def event(
    rng: random.Random,
    at: datetime,
    who: str,
    event_type: str,
    message: str,
    *,
    ip: str,
    agent: str,
    result: str = "SUCCESS",
    reason: str | None = None,
    proxy: bool = False,
    target: list[Event] | None = None,
    country: str = "United States",
) -> Event:
    return {
        "uuid": new_id(rng),
        "published": iso_ms(at),
        "eventType": event_type,
        "version": "0",
        "severity": "INFO" if result == "SUCCESS" else "WARN",
        "displayMessage": message,
        "actor": _actor(who),
        "client": {
            "userAgent": {"rawUserAgent": agent, "os": "Unknown", "browser": "UNKNOWN"},
            "zone": "null",
            "device": "Computer",
            "ipAddress": ip,
            "geographicalContext": {"country": country},
        },
        "authenticationContext": {"authenticationStep": 0, "externalSessionId": "102" + new_id(rng)[:20]},
        "outcome": {"result": result, "reason": reason},
        "target": target,
        "transaction": {"type": "WEB", "id": new_id(rng)[:20], "detail": {}},
        "debugContext": {"debugData": {"requestUri": "/idp/idx/identify", "threatSuspected": "false"}},
        "securityContext": {
            "asNumber": 60729 if proxy else 7922,
            "asOrg": "zwiebelfreunde e.v." if proxy else "comcast",
            "isp": "tor exit node" if proxy else "comcast",
            "domain": None if proxy else "comcast.net",
            "isProxy": proxy,
        },
    }


def routine(rng: random.Random, start: datetime, end: datetime, count: int) -> list[Event]:
    events = []
    for at in daytime_moments(rng, start, end, count):
        who = rng.choice(STAFF)
        ip, agent = rng.choice(OFFICE_IPS + HOME_IPS), rng.choice(BROWSERS)
        roll = rng.random()
        if roll < 0.35:
            events.append(event(rng, at, who, "user.session.start", "User login to Okta", ip=ip, agent=agent))
        elif roll < 0.38:  # a typo now and then: never ten in a row
            events.append(
                event(
                    rng,
                    at,
                    who,
                    "user.session.start",
                    "User login to Okta",
                    ip=ip,
                    agent=agent,
                    result="FAILURE",
                    reason="INVALID_CREDENTIALS",
                )
            )
        elif roll < 0.85:
            app = rng.choice(APPS)
            target = [
                {
                    "id": "0oa" + new_id(rng)[:12],
                    "type": "AppInstance",
                    "alternateId": app,
                    "displayName": app,
                    "detailEntry": None,
                }
            ]
            events.append(
                event(
                    rng,
                    at,
                    who,
                    "user.authentication.sso",
                    f"User single sign on to {app}",
                    ip=ip,
                    agent=agent,
                    target=target,
                )
            )
        else:
            events.append(event(rng, at, who, "user.session.end", "User logout from Okta", ip=ip, agent=agent))
    return events


def intrusion(rng: random.Random, t: datetime) -> list[Event]:
    """Fourteen wrong passwords for one user in nine minutes, then a sign-in through Tor, then the
    attacker resets the victim's MFA and grants them an admin role."""
    ip = ATTACKER_IPS[0]
    victim = [{**_actor(VICTIM), "type": "User"}]
    events = [
        event(
            rng,
            t + timedelta(seconds=38 * n),
            VICTIM,
            "user.session.start",
            "User login to Okta",
            ip=ATTACKER_IPS[n % 2],
            agent=ATTACKER_UA,
            result="FAILURE",
            reason="INVALID_CREDENTIALS",
            proxy=True,
            country="Netherlands",
        )
        for n in range(14)
    ]
    events += [
        event(
            rng,
            t + timedelta(minutes=11),
            VICTIM,
            "user.session.start",
            "User login to Okta",
            ip=ip,
            agent=BROWSERS[2],
            proxy=True,
            country="Netherlands",
        ),
        event(
            rng,
            t + timedelta(minutes=14),
            VICTIM,
            "user.mfa.factor.reset_all",
            "Reset all factors for user",
            ip=ip,
            agent=BROWSERS[2],
            proxy=True,
            target=victim,
            country="Netherlands",
        ),
        event(
            rng,
            t + timedelta(minutes=20),
            VICTIM,
            "user.account.privilege.grant",
            "Grant user privilege",
            ip=ip,
            agent=BROWSERS[2],
            proxy=True,
            country="Netherlands",
            target=[
                *victim,
                {
                    "id": "ra1" + new_id(rng)[:10],
                    "type": "ROLE",
                    "alternateId": "SUPER_ADMIN",
                    "displayName": "Super Administrator",
                    "detailEntry": None,
                },
            ],
        ),
    ]
    return events
