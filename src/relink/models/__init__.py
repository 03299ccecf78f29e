"""The tables, one module each; importing this package registers them all on ``Base``."""

from relink.models.agency import Agency
from relink.models.api_token import ApiToken, TokenKind, TokenScope
from relink.models.base import Base
from relink.models.client import Client
from relink.models.daily_metric import DailyMetric
from relink.models.data_source import DataSource
from relink.models.event import Event
from relink.models.failure_report import FailureReport
from relink.models.grant import Grant
from relink.models.incident import Incident, IncidentDataSource
from relink.models.job_state import JobState, JobStateName
from relink.models.login_attempt import LoginAttempt
from relink.models.notification import Notification
from relink.models.oauth_state import OAuthState, ReconnectLink
from relink.models.outbox import OutboxEmail
from relink.models.pending_job import PendingJob
from relink.models.signal_receipt import SignalReceipt
from relink.models.sync_run import SyncOutcome, SyncRun, SyncTrigger
from relink.models.user import EmailPreference, Role, User, UserClientAccess
from relink.models.user_session import UserSession
from relink.models.webhook import WebhookDelivery, WebhookEndpoint

__all__ = [
    "Agency",
    "ApiToken",
    "Base",
    "Client",
    "DailyMetric",
    "DataSource",
    "EmailPreference",
    "Event",
    "FailureReport",
    "Grant",
    "Incident",
    "IncidentDataSource",
    "JobState",
    "JobStateName",
    "LoginAttempt",
    "Notification",
    "OAuthState",
    "OutboxEmail",
    "PendingJob",
    "ReconnectLink",
    "Role",
    "SignalReceipt",
    "SyncOutcome",
    "SyncRun",
    "SyncTrigger",
    "TokenKind",
    "TokenScope",
    "User",
    "UserClientAccess",
    "UserSession",
    "WebhookDelivery",
    "WebhookEndpoint",
]
