"""Settings every service reads from the environment (pydantic-settings)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Common settings. Env vars carry no prefix so one `.env` serves every service."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        description="host:port of a broker; several comma-separated (a cluster's brokers)",
    )
    kafka_security_protocol: str = Field(
        default="PLAINTEXT", description="PLAINTEXT, SASL_PLAINTEXT, SSL or SASL_SSL"
    )
    kafka_sasl_mechanism: str | None = Field(default=None, description="e.g. SCRAM-SHA-512")
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = Field(
        default=None,
        description="PEM file of the CA that signed the broker's certificate (SSL, SASL_SSL); "
        "default: the system's trust store",
    )
    database_url: SecretStr = Field(
        default=SecretStr("postgresql://packages:packages@127.0.0.1:5432/packages?sslmode=disable"),
        description="asyncpg DSN; may carry a password, so it is never logged",
    )
    db_schema: str = Field(
        default="", pattern=r"^[a-z_][a-z0-9_]{0,62}$|^$", description="default: service name"
    )
    db_pool_min: int = 1
    db_pool_max: int = 8
    probe_interval_seconds: float = Field(
        default=15.0, gt=0, description="How often consumer lag and dead letters are measured."
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=0, description="/health and /metrics; 0 disables")
    log_level: str = "INFO"
    log_json: bool | None = Field(default=None, description="default: JSON unless a TTY")
    consumer_group: str = Field(
        default="", description="default: the service name, then '.' and TOPIC_PREFIX if set"
    )
    topic_prefix: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9._-]*$",
        description="prepended to every topic name: isolates test runs or tenants on a shared "
        "cluster; empty in production",
    )
    retry_backoff_seconds: float = Field(
        default=1.0, description="pause before a failed message is retried"
    )
    batch_max_records: int = Field(
        default=500, ge=1, le=10_000, description="most records a consumer handles at once"
    )
    stream_batch_max_records: int = Field(
        default=5000,
        ge=1,
        le=10_000,
        description="most records of a stream (usage.rated, the call stream) a consumer "
        "handles at once: larger polls share each transaction's fixed costs",
    )
    outbox_batch_events: int = Field(
        default=5000,
        ge=1,
        le=100_000,
        description="events the outbox relay reads, publishes and deletes at once (at least "
        "one unit of work's): larger batches share each round trip's fixed costs",
    )
    batch_wait_ms: int = Field(
        default=20, ge=1, le=10_000, description="how long a consumer waits to fill a batch"
    )
    stuck_after_seconds: float = Field(
        default=60.0,
        gt=0,
        description="a consumer or worker retrying the same failing work this long turns "
        "/health to 503 with the reason (packages_work_stuck_seconds, PackagesWorkStuck)",
    )
    handler_max_attempts: int = Field(
        default=5,
        ge=1,
        le=100,
        description="tries of a message whose handling fails (PostgreSQL and Kafka answering) "
        "before it is dead-lettered with the error",
    )
