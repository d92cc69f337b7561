"""Wiring: build every backend and service from one Settings object (no globals, no import-time work)."""

from __future__ import annotations

from dataclasses import dataclass

from mantissa_log.clock import SYSTEM_CLOCK
from mantissa_log.config import Settings
from mantissa_log.lake.store import LogLake
from mantissa_log.outputs.registry import build_output_registry
from mantissa_log.rulestore.base import RuleStore
from mantissa_log.rulestore.local import LocalRuleStore
from mantissa_log.secrets.base import SecretStore
from mantissa_log.secrets.envelope import EnvelopeCipher, KeyWrapper, KmsKeyWrapper, LocalKeyWrapper
from mantissa_log.secrets.keyring import Keyring
from mantissa_log.services.audit import AuditService
from mantissa_log.services.delivery.outbox import Outbox
from mantissa_log.services.delivery.router import AlertRouter
from mantissa_log.services.delivery.testsend import IntegrationTester
from mantissa_log.services.detection.adhoc import AdhocRuns
from mantissa_log.services.detection.rules import RuleService
from mantissa_log.services.detection.runner import DetectionRunner
from mantissa_log.services.detection.scheduler import Scheduler, worker_id
from mantissa_log.services.integrations import IntegrationService
from mantissa_log.services.user_settings import UserSettingsService
from mantissa_log.services.users import UserService
from mantissa_log.state.backend import StateBackend
from mantissa_log.state.repositories.alerts import AlertRepository
from mantissa_log.state.repositories.audit import AuditRepository
from mantissa_log.state.repositories.deliveries import DeliveryRepository, JiraLedgerRepository
from mantissa_log.state.repositories.integrations import IntegrationRepository
from mantissa_log.state.repositories.rule_runs import RuleRunRepository
from mantissa_log.state.repositories.rules import DetectionRuleRepository
from mantissa_log.state.repositories.settings import UserSettingsRepository
from mantissa_log.state.repositories.users import UserRepository
from mantissa_log.state.tables import ALL_TABLES


@dataclass
class Services:
    config: Settings
    backend: StateBackend
    keyring: Keyring
    cipher: EnvelopeCipher
    secrets: SecretStore
    rule_bodies: RuleStore
    rules: DetectionRuleRepository
    integrations_repo: IntegrationRepository
    users: UserService
    user_settings: UserSettingsService
    integrations: IntegrationService
    audit: AuditService
    lake: LogLake
    rule_service: RuleService
    rule_runs: RuleRunRepository
    alerts: AlertRepository
    runner: DetectionRunner
    scheduler: Scheduler
    adhoc: AdhocRuns
    deliveries: DeliveryRepository
    router: AlertRouter
    outbox: Outbox
    tester: IntegrationTester

    def close(self) -> None:
        self.backend.close()


def build_backend(config: Settings) -> StateBackend:
    if config.state_backend == "dynamodb":
        from mantissa_log.state.dynamodb_backend import DynamoDbBackend

        return DynamoDbBackend(
            environment=config.environment,
            endpoint_url=config.dynamodb_endpoint_url,
            region=config.region,
            kms_key_id=config.kms_key_id,
        )
    from mantissa_log.state.sqlite_backend import SqliteBackend

    return SqliteBackend(config.state_path, config.environment)


def build_secret_store(config: Settings, backend: StateBackend, keyring: Keyring) -> SecretStore:
    if config.secrets_backend == "aws":
        from mantissa_log.secrets.aws import AwsSecretsManagerStore
        from mantissa_log.secrets.aws_clients import make_aws_client

        client = make_aws_client("secretsmanager", config.region, config.secrets_endpoint_url)
        return AwsSecretsManagerStore(client, prefix=f"mantissa-log/{config.environment}")
    from mantissa_log.secrets.vault import LocalVault

    return LocalVault(backend, keyring)


def build_key_wrapper(config: Settings, keyring: Keyring) -> KeyWrapper:
    if config.kms_key_id:
        from mantissa_log.secrets.aws_clients import make_aws_client

        return KmsKeyWrapper(make_aws_client("kms", config.region, config.kms_endpoint_url), config.kms_key_id)
    return LocalKeyWrapper(keyring)


def build_rule_store(config: Settings) -> RuleStore:
    if config.rule_store == "s3":
        from mantissa_log.errors import ConfigError
        from mantissa_log.rulestore.s3 import S3RuleStore
        from mantissa_log.secrets.aws_clients import make_aws_client

        if not config.s3_bucket:
            raise ConfigError("MANTISSA_S3_BUCKET is required with MANTISSA_RULE_STORE=s3", field="MANTISSA_S3_BUCKET")
        return S3RuleStore(make_aws_client("s3", config.region, config.s3_endpoint_url), config.s3_bucket)
    return LocalRuleStore(config.rules_dir)


def build_services(config: Settings) -> Services:
    config.home.mkdir(parents=True, exist_ok=True)
    backend = build_backend(config)
    backend.ensure_tables(ALL_TABLES)
    keyring = Keyring(config.master_key_path)
    cipher = EnvelopeCipher(build_key_wrapper(config, keyring))
    secrets = build_secret_store(config, backend, keyring)
    integrations_repo = IntegrationRepository(backend, cipher)
    rules = DetectionRuleRepository(backend)
    rule_bodies = build_rule_store(config)
    rule_runs = RuleRunRepository(backend)
    rule_service = RuleService(rules, rule_bodies, rule_runs)
    alerts = AlertRepository(backend)
    lake = LogLake(config.lake_dir)
    deliveries = DeliveryRepository(backend)
    ledger = JiraLedgerRepository(backend)
    outputs = build_output_registry()
    router = AlertRouter(config, integrations_repo, deliveries, alerts, outputs, SYSTEM_CLOCK)
    runner = DetectionRunner(lake, rules, alerts, on_alert=router.route)
    integrations = IntegrationService(integrations_repo, secrets)
    owner = worker_id()
    return Services(
        config=config,
        backend=backend,
        keyring=keyring,
        cipher=cipher,
        secrets=secrets,
        rule_bodies=rule_bodies,
        rules=rules,
        integrations_repo=integrations_repo,
        users=UserService(UserRepository(backend)),
        user_settings=UserSettingsService(UserSettingsRepository(backend), secrets),
        integrations=integrations,
        audit=AuditService(AuditRepository(backend)),
        lake=lake,
        rule_service=rule_service,
        rule_runs=rule_runs,
        alerts=alerts,
        runner=runner,
        scheduler=Scheduler(rules, rule_service, rule_runs, runner, owner=owner),
        adhoc=AdhocRuns(rule_service, rule_runs, runner),
        deliveries=deliveries,
        router=router,
        outbox=Outbox(
            config, alerts, deliveries, integrations_repo, router, secrets, ledger, owner,
            outputs=outputs, clock=SYSTEM_CLOCK,
        ),
        tester=IntegrationTester(config, integrations, secrets, ledger, outputs=outputs, clock=SYSTEM_CLOCK),
    )
