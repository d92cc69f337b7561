"""The composition root: build every backend, repository and service from one Settings object.

Edges (API, CLI, web) see `Services`: one focused service per area, the only door to the rest.
What the services are built from (backends, stores, repositories) is kept in `Infrastructure`,
for wiring, operators' tools and tests; edges never reach into it (an import-linter contract
forbids them the infrastructure packages). Nothing here runs at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from mantissa_log.clock import SYSTEM_CLOCK, Clock
from mantissa_log.config import Settings
from mantissa_log.domain.integrations import Integration
from mantissa_log.errors import ConfigError
from mantissa_log.lake import IngestLimits
from mantissa_log.lake.detect import DetectionEngine, DuckDbEngine
from mantissa_log.lake.query_backend import LocalQueries, QueryBackend
from mantissa_log.lake.query_run import QueryLimits
from mantissa_log.lake.store import LogLake
from mantissa_log.outputs.registry import build_output_registry
from mantissa_log.outputs.template_pool import TemplateRenderer
from mantissa_log.rulestore.base import RuleStore
from mantissa_log.rulestore.local import LocalRuleStore
from mantissa_log.secrets.base import SecretStore
from mantissa_log.secrets.envelope import EnvelopeCipher, KeyWrapper, KmsKeyWrapper, LocalKeyWrapper
from mantissa_log.secrets.keyring import Keyring
from mantissa_log.secrets.vault import LocalVault
from mantissa_log.services.admin import AdminService
from mantissa_log.services.alerts import AlertService
from mantissa_log.services.audit import AuditService
from mantissa_log.services.collectors.service import CollectorService
from mantissa_log.services.delivery.context import output_context, template_limits
from mantissa_log.services.delivery.outbox import Outbox
from mantissa_log.services.delivery.processes import DeliveryHelpers
from mantissa_log.services.delivery.router import AlertRouter
from mantissa_log.services.delivery.service import DeliveryService
from mantissa_log.services.delivery.testsend import IntegrationTester
from mantissa_log.services.demo import DemoService
from mantissa_log.services.detection.adhoc import AdhocRuns
from mantissa_log.services.detection.draft import RuleDraftService
from mantissa_log.services.detection.rules import RuleService
from mantissa_log.services.detection.runner import DetectionRunner
from mantissa_log.services.detection.scheduler import Scheduler, worker_id
from mantissa_log.services.detection.service import DetectionService
from mantissa_log.services.hec import HecService
from mantissa_log.services.integrations import IntegrationService
from mantissa_log.services.llm.gateway import LlmConfig, LlmService
from mantissa_log.services.logs import LogService
from mantissa_log.services.provisioning import require_provisioned
from mantissa_log.services.query.service import QueryService, QuerySettings
from mantissa_log.services.sessions import SessionService
from mantissa_log.services.user_settings import UserSettingsService
from mantissa_log.services.users import UserService
from mantissa_log.services.worker import Worker
from mantissa_log.state.audit_checkpoints import AuditCheckpoints
from mantissa_log.state.backend import StateBackend
from mantissa_log.state.home import make_private_home
from mantissa_log.state.repositories.alerts import AlertRepository
from mantissa_log.state.repositories.audit import AuditRepository
from mantissa_log.state.repositories.collectors import CollectorRepository
from mantissa_log.state.repositories.deliveries import DeliveryRepository, JiraLedgerRepository
from mantissa_log.state.repositories.integrations import IntegrationRepository
from mantissa_log.state.repositories.queries import ConversationRepository, LlmUsageRepository, QueryCacheRepository
from mantissa_log.state.repositories.rule_runs import RuleRunRepository
from mantissa_log.state.repositories.rules import DetectionRuleRepository
from mantissa_log.state.repositories.sessions import SessionRepository
from mantissa_log.state.repositories.settings import UserSettingsRepository
from mantissa_log.state.repositories.users import UserRepository
from mantissa_log.state.repositories.vault import VaultRepository
from mantissa_log.state.tables import ALL_TABLES


@dataclass
class Repositories:
    rules: DetectionRuleRepository
    rule_runs: RuleRunRepository
    integrations: IntegrationRepository
    alerts: AlertRepository
    deliveries: DeliveryRepository
    jira_ledger: JiraLedgerRepository
    users: UserRepository
    settings: UserSettingsRepository
    audit: AuditRepository
    sessions: SessionRepository
    llm_usage: LlmUsageRepository
    conversations: ConversationRepository
    query_cache: QueryCacheRepository
    collectors: CollectorRepository


@dataclass
class Infrastructure:
    """What the services are made of. Not for edges."""

    clock: Clock
    backend: StateBackend
    keyring: Keyring
    cipher: EnvelopeCipher
    secrets: SecretStore
    rule_bodies: RuleStore
    lake: LogLake
    engine: DetectionEngine
    repos: Repositories
    # The pieces the worker loop drives (also reachable through `Services.detection/delivery`).
    runner: DetectionRunner
    scheduler: Scheduler
    router: AlertRouter
    outbox: Outbox
    templates: TemplateRenderer  # worker processes rendering webhook templates


@dataclass
class Services:
    """Everything an edge may call, one focused service per area."""

    config: Settings
    users: UserService
    settings: UserSettingsService
    integrations: IntegrationService
    rules: RuleService
    detection: DetectionService
    alerts: AlertService
    delivery: DeliveryService
    logs: LogService
    audit: AuditService
    admin: AdminService
    sessions: SessionService
    demo: DemoService
    collectors: CollectorService
    hec: HecService
    worker: Worker
    llm: LlmService
    query: QueryService
    drafts: RuleDraftService
    infra: Infrastructure

    @property
    def clock(self) -> Clock:
        """The one clock everything here reads (edges show times relative to it)."""
        return self.infra.clock

    def close(self) -> None:
        self.delivery.close()  # sends in flight finish and are recorded; kept-open connections close
        self.audit.close()  # every queued audit record is written before the store closes
        self.infra.templates.close()
        if self.audit.checkpoints is not None:
            self.audit.checkpoints.close()
        self.infra.backend.close()


def build_backend(config: Settings, clock: Clock = SYSTEM_CLOCK) -> StateBackend:
    if config.state_backend == "dynamodb":
        from mantissa_log.state.dynamodb_backend import DynamoDbBackend

        return DynamoDbBackend(
            environment=config.environment,
            endpoint_url=config.dynamodb_endpoint_url,
            region=config.region,
            kms_key_id=config.kms_key_id,
            clock=clock,
        )
    from mantissa_log.state.sqlite_backend import SqliteBackend

    return SqliteBackend(config.state_path, config.environment, clock)


def build_secret_store(config: Settings, backend: StateBackend, keyring: Keyring) -> SecretStore:
    if config.secrets_backend == "aws":
        from mantissa_log.secrets.aws import AwsSecretsManagerStore
        from mantissa_log.secrets.aws_clients import make_aws_client

        client = make_aws_client("secretsmanager", config.region, config.secrets_endpoint_url)
        return AwsSecretsManagerStore(client, prefix=f"mantissa-log/{config.environment}")
    return LocalVault(VaultRepository(backend), keyring)


def build_keyring(config: Settings) -> Keyring:
    if config.master_key_secret:
        from mantissa_log.secrets.aws_clients import make_aws_client
        from mantissa_log.secrets.shared_keyring import SharedKeyring

        client = make_aws_client("secretsmanager", config.region, config.secrets_endpoint_url)
        return SharedKeyring(client, config.master_key_secret)
    return Keyring(config.master_key_path)


def refuse_host_local_key(config: Settings) -> None:
    """With shared (DynamoDB) state, a key made on this host would encrypt what no other host can read."""
    if config.state_backend != "dynamodb" or config.master_key_secret or config.master_key_path.exists():
        return
    raise ConfigError(
        "MANTISSA_STATE_BACKEND=dynamodb is shared by every host, but this host would create its own master key "
        f"({config.master_key_path}) that no other host has: set MANTISSA_KMS_KEY_ID with "
        "MANTISSA_SECRETS_BACKEND=aws, or MANTISSA_MASTER_KEY_SECRET (a keyring in Secrets Manager made by "
        "`mantissa-log init`)",
        field="MANTISSA_MASTER_KEY_SECRET",
    )


def build_key_wrapper(config: Settings, keyring: Keyring) -> KeyWrapper:
    if config.kms_key_id:
        from mantissa_log.secrets.aws_clients import make_aws_client

        return KmsKeyWrapper(make_aws_client("kms", config.region, config.kms_endpoint_url), config.kms_key_id)
    return LocalKeyWrapper(keyring)


def build_rule_store(config: Settings) -> RuleStore:
    if config.rule_store == "s3":
        from mantissa_log.rulestore.s3 import S3RuleStore
        from mantissa_log.secrets.aws_clients import make_aws_client

        if not config.s3_bucket:
            raise ConfigError("MANTISSA_S3_BUCKET is required with MANTISSA_RULE_STORE=s3", field="MANTISSA_S3_BUCKET")
        return S3RuleStore(make_aws_client("s3", config.region, config.s3_endpoint_url), config.s3_bucket)
    return LocalRuleStore(config.rules_dir)


def build_lake(config: Settings) -> tuple[LogLake, DetectionEngine]:
    """The local lake with DuckDB, or the S3 lake with Athena (`MANTISSA_LAKE=s3`)."""
    horizon = timedelta(seconds=config.dedup_horizon_seconds)
    limits = IngestLimits(
        decompressed_bytes=config.max_decompressed_bytes,
        line_bytes=config.max_line_bytes,
        event_bytes=config.max_event_bytes,
    )
    if config.lake != "s3":
        lake = LogLake(config.lake_dir, dedup_horizon=horizon, limits=limits)
        return lake, DuckDbEngine(lake)
    from mantissa_log.lake.athena_run import AthenaRunner
    from mantissa_log.lake.detect.athena_engine import AthenaEngine
    from mantissa_log.lake.s3lake import S3LogLake
    from mantissa_log.secrets.aws_clients import make_aws_client

    bucket = config.lake_bucket_name
    assert bucket, "checked by require_provisioned"
    s3 = make_aws_client("s3", config.region, config.s3_endpoint_url)
    # The data home only stages an ingest on its way to S3.
    s3_lake = S3LogLake(config.lake_dir, s3, bucket, config.lake_prefix, dedup_horizon=horizon, limits=limits)
    athena = make_aws_client("athena", config.region, config.athena_endpoint_url)
    engine = AthenaEngine(AthenaRunner(athena, config.glue_database_name, config.athena_workgroup_name), s3_lake)
    return s3_lake, engine


def build_query_backend(config: Settings, lake: LogLake) -> QueryBackend:
    """Questions run where detection does: DuckDB over the local lake, Athena over the S3 lake."""
    if config.lake != "s3":
        return LocalQueries(lake)
    from mantissa_log.lake.athena_run import AthenaRunner
    from mantissa_log.lake.query_athena import AthenaQueries
    from mantissa_log.lake.s3lake import S3LogLake
    from mantissa_log.secrets.aws_clients import make_aws_client

    assert isinstance(lake, S3LogLake), "build_lake makes the S3 lake with MANTISSA_LAKE=s3"
    athena = make_aws_client("athena", config.region, config.athena_endpoint_url)
    # Someone waits for the answer: poll more often than detection does (at most once a second).
    runner = AthenaRunner(athena, config.glue_database_name, config.athena_workgroup_name, poll_max_seconds=1.0)
    return AthenaQueries(runner, lake)


def build_repositories(backend: StateBackend, cipher: EnvelopeCipher) -> Repositories:
    return Repositories(
        rules=DetectionRuleRepository(backend),
        rule_runs=RuleRunRepository(backend),
        integrations=IntegrationRepository(backend, cipher),
        alerts=AlertRepository(backend),
        deliveries=DeliveryRepository(backend),
        jira_ledger=JiraLedgerRepository(backend),
        users=UserRepository(backend),
        settings=UserSettingsRepository(backend),
        audit=AuditRepository(backend, cipher),
        sessions=SessionRepository(backend),
        llm_usage=LlmUsageRepository(backend),
        conversations=ConversationRepository(backend),
        query_cache=QueryCacheRepository(backend),
        collectors=CollectorRepository(backend),
    )


def build_services(config: Settings, clock: Clock = SYSTEM_CLOCK) -> Services:
    make_private_home(config.home)  # 0700 / 0600 whatever the umask (state/home.py)
    backend = build_backend(config, clock)
    try:
        if config.state_backend == "sqlite":
            backend.ensure_tables(ALL_TABLES)  # the embedded store is a file of our own
        # A shared store (and buckets, keys, ...) is provisioned by `mantissa-log init` only:
        # a start checks, read-only, and names whatever is missing.
        require_provisioned(config, backend)
        keyring = build_keyring(config)
        cipher = EnvelopeCipher(build_key_wrapper(config, keyring))
        secrets = build_secret_store(config, backend, keyring)
        if isinstance(cipher.wrapper, LocalKeyWrapper) or isinstance(secrets, LocalVault):
            refuse_host_local_key(config)
            keyring.active_id()  # the master key exists from the start, not from the first secret stored
    except BaseException:
        backend.close()
        raise
    rule_bodies = build_rule_store(config)
    lake, engine = build_lake(config)
    repos = build_repositories(backend, cipher)
    outputs = build_output_registry()
    owner = worker_id()

    templates = TemplateRenderer(template_limits(config))
    users = UserService(repos.users, clock)

    def check_integration(integration: Integration) -> None:
        outputs.check_config(integration, output_context(config, secrets, None, templates=templates))

    integrations = IntegrationService(repos.integrations, secrets, clock, check=check_integration)
    rules = RuleService(repos.rules, rule_bodies, repos.rule_runs, clock)
    router = AlertRouter(config, repos.integrations, repos.deliveries, repos.alerts, outputs, clock)
    runner = DetectionRunner(engine, repos.rules, repos.alerts, clock, on_alert=router.route)
    max_window = timedelta(seconds=config.max_run_window_seconds)
    scheduler = Scheduler(
        repos.rules,
        rules,
        repos.rule_runs,
        runner,
        clock,
        owner,
        lease_seconds=config.rule_lease_seconds,
        max_window=max_window,
    )
    outbox = Outbox(
        config,
        repos.alerts,
        repos.deliveries,
        repos.integrations,
        router,
        secrets,
        repos.jira_ledger,
        owner,
        outputs=outputs,
        clock=clock,
        templates=templates,
    )
    tester = IntegrationTester(
        config, integrations, secrets, repos.jira_ledger, outputs=outputs, clock=clock, templates=templates
    )
    infra = Infrastructure(
        clock=clock,
        backend=backend,
        keyring=keyring,
        cipher=cipher,
        secrets=secrets,
        rule_bodies=rule_bodies,
        lake=lake,
        engine=engine,
        repos=repos,
        runner=runner,
        scheduler=scheduler,
        router=router,
        outbox=outbox,
        templates=templates,
    )
    detection = DetectionService(rules, engine, AdhocRuns(rules, repos.rule_runs, runner, max_window), scheduler)
    delivery = DeliveryService(
        outbox, tester, repos.deliveries, repos.alerts, clock, timedelta(seconds=config.delivery_max_age_seconds)
    )
    logs = LogService(lake, config.home / "uploads", clock)
    audit = AuditService(repos.audit, clock, checkpoints=AuditCheckpoints(config.audit_dir))
    admin = AdminService(
        backend,
        rule_bodies,
        keyring,
        cipher,
        secrets if isinstance(secrets, LocalVault) else None,
        repos.rules,
        repos.integrations,
        clock,
        users=users,
        user_repo=repos.users,
        audit=repos.audit,
        flush_audit=audit.flush,
    )
    llm = LlmService(
        repos.settings,
        secrets,
        repos.llm_usage,
        clock,
        LlmConfig(
            timeout_seconds=config.llm_timeout_seconds,
            max_attempts=config.llm_max_attempts,
            max_retry_wait_seconds=config.llm_max_retry_wait_seconds,
            allow_private_targets=config.allow_private_targets,
            aws_region=config.region,
        ),
    )
    query = QueryService(
        llm,
        build_query_backend(config, lake),
        repos.conversations,
        repos.query_cache,
        clock,
        QuerySettings(
            limits=QueryLimits(
                max_rows=config.query_max_rows,
                timeout_seconds=config.query_timeout_seconds,
                memory_limit_mb=config.query_memory_mb,
                threads=config.query_threads,
            ),
            history_days=config.query_history_days,
            cache_seconds=config.query_cache_seconds,
            schema_examples=config.query_schema_examples,
        ),
    )
    drafts = RuleDraftService(llm, engine, clock, lake=lake, attack_data=config.attack_data, cache_dir=config.cache_dir)
    collectors = CollectorService(
        repos.collectors, secrets, lake, clock, owner, allow_private_targets=config.allow_private_targets
    )
    return Services(
        config=config,
        users=users,
        settings=UserSettingsService(
            repos.settings, secrets, clock, allow_private_targets=config.allow_private_targets
        ),
        integrations=integrations,
        rules=rules,
        detection=detection,
        alerts=AlertService(repos.alerts, repos.deliveries, clock),
        delivery=delivery,
        logs=logs,
        audit=audit,
        admin=admin,
        sessions=SessionService(repos.sessions, users, clock),
        demo=DemoService(rules, detection, logs, clock),
        llm=llm,
        query=query,
        drafts=drafts,
        collectors=collectors,
        hec=HecService(lake, config.max_decompressed_bytes),
        worker=Worker(
            detection,
            delivery,
            logs,
            admin,
            collectors,
            delivery_helpers=DeliveryHelpers(config, config.delivery_processes - 1)
            if config.delivery_processes > 1
            else None,
        ),
        infra=infra,
    )
