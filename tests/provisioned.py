"""Start services the way an operator does: `mantissa-log init` once (admin), then a normal start.

A normal start never creates tables, buckets or keys (services/provisioning.py), so every fixture
on DynamoDB provisions first, through the same code path as the `init` command.
"""

from __future__ import annotations

from mantissa_log.clock import SYSTEM_CLOCK, Clock
from mantissa_log.config import Settings
from mantissa_log.services.container import Services, build_services
from mantissa_log.services.provisioning import provision


def build_provisioned(config: Settings, clock: Clock = SYSTEM_CLOCK) -> Services:
    provision(config)
    return build_services(config, clock)


def shared_key_secret(environment: str) -> str:
    """Where DynamoDB fixtures keep the keyring every 'host' of one environment shares."""
    return f"mantissa-log/{environment}/master-keyring"
