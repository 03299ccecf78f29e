"""Settings from environment variables (prefix ``RELINK_``); one object, read once."""

from __future__ import annotations

import enum
import functools
import json
from pathlib import Path
from typing import Annotated

import structlog
from cryptography.fernet import Fernet
from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)

from relink.errors import RelinkError
from relink.kit.private_files import (
    PRIVATE_FILE_MODE,
    create_private_text,
    private_dir,
    tighten,
)
from relink.sandbox import seed as sandbox_seed
from relink.sandbox import settings as sandbox_settings

log = structlog.get_logger(__name__)

GENERATED_KEY_FILE = "secret.key"
# Read from the working directory when present: a developer's or a service manager's settings.
ENV_FILE = ".env"


class MissingSecretKeys(RelinkError):
    """A shared database without shared keys: each process would encrypt with its own."""

    def __init__(self) -> None:
        super().__init__(
            "RELINK_SECRET_KEYS is not set. On PostgreSQL every process (app, workers, "
            "scheduler) must encrypt with the same keys, and a key generated into one "
            "process's var directory cannot be shared. Run `relink keys generate` and set "
            "RELINK_SECRET_KEYS to its output in every process's environment (or put it in "
            "the secrets directory, RELINK_SECRETS_DIR, as a file named relink_secret_keys).",
            status_code=500,
        )


class OAuthClient(BaseModel):
    """Our app's registration at one OAuth provider."""

    client_id: str
    client_secret: SecretStr


class EmbeddedWorker(enum.StrEnum):
    """Whether an app process runs the scheduler and jobs itself (``auto``: unless scaled)."""

    AUTO = "auto"
    ON = "on"
    OFF = "off"


class Settings(BaseSettings):
    """Everything Relink reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="RELINK_", extra="ignore", env_file=ENV_FILE, env_file_encoding="utf-8"
    )

    var_dir: Path = Path("var")
    database_url: str = ""
    secret_keys: SecretStr = SecretStr("")
    session_secret: SecretStr = SecretStr("")
    smtp_url: SecretStr | None = None
    redis_url: str | None = None
    # Bearer token a Prometheus scraper presents at /metrics; unset: only loopback may scrape.
    metrics_token: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = ""
    sandbox_host: str = sandbox_settings.DEFAULT_HOST
    # Reverse proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated;
    # "*" for any). None by default: the peer's own address counts, whatever a header claims,
    # so sign-in limits per address cannot be dodged by forging one.
    trusted_proxies: str = ""
    sandbox_port: int = sandbox_settings.DEFAULT_PORT
    sandbox_url: str = ""
    mail_from: str = "Relink <relink@localhost>"
    trash_retention_days: int = Field(default=30, ge=1)
    # JSON: {"google_ads": {"client_id": "...", "client_secret": "..."}, ...}
    oauth_clients: dict[str, OAuthClient] = Field(default_factory=dict)
    # Providers where OUR app registration is still in a testing mode (their short clocks apply).
    oauth_apps_in_testing: list[str] = Field(default_factory=list)
    # The in-process scheduler and worker of the embedded default; "auto" turns them off in the
    # scaled mode (Redis and PostgreSQL configured), where `relink worker` runs the jobs.
    embedded_worker: EmbeddedWorker = EmbeddedWorker.AUTO
    # Scaled mode: a job Celery handed to a worker that then went silent is handed out again
    # after this long (Redis' visibility timeout). Longer than any one job runs.
    task_visibility_timeout_seconds: float = Field(default=3600.0, gt=0)
    sweep_interval_seconds: float = Field(default=30.0, gt=0)
    # Every active grant is probed about this often (jittered, within each provider's budget).
    probe_interval_seconds: float = Field(default=300.0, gt=0)
    # Receive providers' revocation signals (and register for the sandbox's at start-up).
    signals_enabled: bool = True
    # How long the Data Sources page's status counts are kept per scope (0: counted each time).
    page_counts_cache_seconds: float = Field(default=5.0, ge=0)
    log_json: bool = False
    # A directory of files named like the variables (relink_secret_keys, relink_smtp_url, ...),
    # each holding one value: Docker and Kubernetes secrets. Read after the environment.
    secrets_dir: Path | None = None
    # Hosts webhooks may be sent to although they are not public (loopback, private networks):
    # comma-separated names or addresses, e.g. "127.0.0.1" for a test receiver. Empty: none.
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Precedence, first wins: arguments, environment, secrets directory, ``.env``, defaults.

        The secrets directory is itself a setting (``RELINK_SECRETS_DIR``, from the environment
        or ``.env``); a mounted secret outranks a ``.env`` left in the working directory.
        """
        configured = env_settings().get("secrets_dir") or dotenv_settings().get("secrets_dir")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if configured:
            secrets_dir = Path(str(configured))
            if not secrets_dir.is_dir():
                raise ValueError(f"RELINK_SECRETS_DIR {secrets_dir} is not a directory")
            sources.append(SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir))
        sources.append(dotenv_settings)
        return tuple(sources)

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if value and not value.startswith(("sqlite+aiosqlite://", "postgresql+psycopg://")):
            raise ValueError(
                "RELINK_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+psycopg://"
            )
        return value

    @field_validator("embedded_worker", mode="before")
    @classmethod
    def _on_off(cls, value: object) -> object:
        # true/false (what this setting took before "auto" existed) mean on/off.
        if isinstance(value, bool):
            return EmbeddedWorker.ON if value else EmbeddedWorker.OFF
        if isinstance(value, str):
            lowered = value.strip().lower()
            return {
                "true": "on",
                "1": "on",
                "yes": "on",
                "false": "off",
                "0": "off",
                "no": "off",
            }.get(lowered, lowered)
        return value

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [host.strip() for host in value.split(",") if host.strip()]
        return value

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file under ``var_dir``."""
        return self.database_url or f"sqlite+aiosqlite:///{self.var_dir / 'relink.db'}"

    @property
    def scaled(self) -> bool:
        """The scaled mode: Celery on Redis runs the jobs, on PostgreSQL. Configuration alone
        chooses it: ``RELINK_REDIS_URL`` and a PostgreSQL ``RELINK_DATABASE_URL``."""
        return bool(self.redis_url) and self.effective_database_url.startswith("postgresql")

    @property
    def runs_embedded_worker(self) -> bool:
        """Whether an app process runs the scheduler (and, unless scaled, the jobs) itself."""
        if self.embedded_worker is EmbeddedWorker.AUTO:
            return not self.scaled
        return self.embedded_worker is EmbeddedWorker.ON

    @property
    def effective_base_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def effective_sandbox_url(self) -> str:
        return sandbox_settings.base_url(
            host=self.sandbox_host, port=self.sandbox_port, url=self.sandbox_url
        )

    def key_list(self) -> list[str]:
        """Fernet keys, newest first; on SQLite one is generated under ``var_dir`` when unset.

        On PostgreSQL unset keys are an error (:class:`MissingSecretKeys`): the processes that
        share the database cannot share a generated file.
        """
        configured = [
            k.strip() for k in self.secret_keys.get_secret_value().split(",") if k.strip()
        ]
        if configured:
            return configured
        if self.effective_database_url.startswith("postgresql"):
            # Processes sharing a database must share keys; a generated file is per machine.
            raise MissingSecretKeys()
        key_file = self.var_dir / GENERATED_KEY_FILE
        private_dir(self.var_dir)
        if create_private_text(key_file, Fernet.generate_key().decode() + "\n"):
            log.warning(
                "config.secret_key.generated",
                path=str(key_file),
                hint="set RELINK_SECRET_KEYS in production: losing this file loses all credentials",
            )
        else:
            # A file left by an older version may be wider than the key it holds deserves.
            tighten(key_file, PRIVATE_FILE_MODE)
        return [key_file.read_text().strip()]

    def session_key(self) -> str:
        """Signs session cookies: the configured secret, or one derived from the first key."""
        configured = self.session_secret.get_secret_value()
        if configured:
            return configured
        import hashlib

        return hashlib.sha256(b"relink-session:" + self.key_list()[0].encode()).hexdigest()

    @property
    def https(self) -> bool:
        return self.effective_base_url.startswith("https://")

    def oauth_client(self, provider: str) -> OAuthClient | None:
        """Our registration at ``provider``; the sandbox's is built in."""
        if provider in self.oauth_clients:
            return self.oauth_clients[provider]
        if provider == "sandbox":
            return OAuthClient(
                client_id=sandbox_seed.CLIENT_ID,
                client_secret=SecretStr(sandbox_seed.CLIENT_SECRET),
            )
        return None

    @property
    def oauth_redirect_uri(self) -> str:
        return f"{self.effective_base_url}/oauth/callback"

    def masked(self) -> dict[str, str]:
        """The effective settings with every secret masked, for ``relink config``."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                shown[name] = "********" if value.get_secret_value() else "(unset)"
            elif name == "oauth_clients":
                shown[name] = ", ".join(sorted(value)) or "(none; the sandbox is built in)"
            elif value is None or value == "":
                shown[name] = "(unset)"
            elif isinstance(value, list):
                shown[name] = ", ".join(value) or "(none)"
            else:
                shown[name] = str(value)
        shown["database_url"] = _mask_url_password(self.effective_database_url)
        shown["base_url"] = self.effective_base_url
        shown["sandbox_url"] = self.effective_sandbox_url
        return shown


def _mask_url_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings."""
    return Settings()
