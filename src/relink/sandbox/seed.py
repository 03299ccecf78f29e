"""The sandbox's fixed world, shared by the sandbox server and Relink's demo data.

The demo grants in Relink hold exactly these refresh tokens and API keys, so a freshly seeded
demo talks to a freshly started sandbox without anyone signing in. These are sandbox-only
values: they open nothing anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Relink's registered OAuth client at the sandbox.
CLIENT_ID = "relink-demo"
CLIENT_SECRET = "sbx-client-secret-4f1c9e2a7b"  # noqa: S105  (sandbox-only, public by design)
SCOPES = ("ads.read", "ads.manage")

API_KEY_PREFIX = "sbx_live_"
API_KEY_PATTERN = r"^sbx_live_[A-Za-z0-9]{32}$"


TRIAL_GRANT_LIFETIME_DAYS = 2


# Time zones of the sandbox's accounts, as a real ads account has one (Google Ads'
# customer.time_zone, Meta's timezone_name): its days, and so its reports, end at midnight there.
PACIFIC = "America/Los_Angeles"
BERLIN = "Europe/Berlin"


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    # The manager (MCC-like) account that owns this one, if any.
    manager_id: str | None = None
    # The IANA time zone the account reports its days in (GET /api/accounts says it).
    time_zone: str = "UTC"


@dataclass(frozen=True)
class Identity:
    """A person who can sign in at the sandbox's consent page."""

    subject: str
    email: str
    name: str
    password: str
    # Accounts this login reaches directly (a manager account reaches its sub-accounts too).
    account_ids: tuple[str, ...]
    # A refresh token pre-issued to Relink for this identity, so the demo starts connected.
    demo_refresh_token: str | None = None
    # How the sandbox tells Relink this login took access away: a RISC Security Event Token
    # (as Google does) or a Meta-style Deauthorize Callback signed_request.
    signals: str = "risc"
    # A login whose sign-ins end this many days after consent (like Google's apps in Testing
    # mode); the catalog documents it, so Relink warns "expires soon".
    grant_lifetime_days: int | None = None


@dataclass(frozen=True)
class ApiKeyAccount:
    account: Account
    demo_api_key: str


MANAGER = Account("mcc-100-000-0001", "Northwind Agency MCC", time_zone=PACIFIC)
# A manager's sub-accounts each keep their own time zone: most of Northwind's run in Pacific
# time, two (its European clients) in Berlin.
MANAGER_SUB_ACCOUNTS = tuple(
    Account(
        f"cust-100-000-01{n:02d}",
        f"Northwind Ads {n:02d}",
        MANAGER.id,
        time_zone=BERLIN if n in (9, 10) else PACIFIC,
    )
    for n in range(1, 11)
)
SECOND_ACCOUNTS = tuple(
    Account(f"cust-200-000-02{n:02d}", f"Harbor Ads {n:02d}", time_zone=BERLIN) for n in range(1, 4)
)

IDENTITIES: tuple[Identity, ...] = (
    Identity(
        subject="sbx-user-1001",
        email="manager@sandbox.test",
        name="Morgan Manager",
        password="sandbox",  # noqa: S106
        account_ids=(MANAGER.id,),
        demo_refresh_token="sbx_rt_demo_manager_7Qx2Lk9Vd3Rm8Tz1",  # noqa: S106
    ),
    Identity(
        subject="sbx-user-1002",
        email="harbor@sandbox.test",
        name="Harper Harbor",
        password="sandbox",  # noqa: S106
        account_ids=tuple(a.id for a in SECOND_ACCOUNTS),
        demo_refresh_token="sbx_rt_demo_harbor_3Hn6Wc8Pa5Ye2Ju4",  # noqa: S106
        signals="meta_deauthorize",
    ),
    # A different login that reaches only some of the manager's accounts: the
    # "wrong identity on reconnect" case.
    Identity(
        subject="sbx-user-1003",
        email="other@sandbox.test",
        name="Oli Other",
        password="sandbox",  # noqa: S106
        account_ids=tuple(a.id for a in MANAGER_SUB_ACCOUNTS[:3]),
    ),
    # A trial login: its sign-ins end TRIAL_GRANT_LIFETIME_DAYS after consent, the "expires
    # soon" demonstration (sandbox.yaml's expiry_warnings documents it).
    Identity(
        subject="sbx-user-1004",
        email="trial@sandbox.test",
        name="Tara Trial",
        password="sandbox",  # noqa: S106
        account_ids=(SECOND_ACCOUNTS[0].id,),
        grant_lifetime_days=TRIAL_GRANT_LIFETIME_DAYS,
    ),
)

API_KEY_ACCOUNTS: tuple[ApiKeyAccount, ...] = tuple(
    ApiKeyAccount(
        Account(
            f"key-300-000-03{n:02d}",
            f"Call Tracking {n:02d}",
            time_zone=PACIFIC if n % 2 else BERLIN,
        ),
        f"{API_KEY_PREFIX}demo{n:02d}" + "A1b2C3d4E5f6G7h8J9k0L1m2N3"[: 32 - 6],
    )
    for n in range(1, 5)
)


@dataclass
class World:
    """Everything the sandbox knows at start."""

    identities: tuple[Identity, ...] = IDENTITIES
    accounts: tuple[Account, ...] = field(
        default=(
            MANAGER,
            *MANAGER_SUB_ACCOUNTS,
            *SECOND_ACCOUNTS,
            *(a.account for a in API_KEY_ACCOUNTS),
        )
    )
    api_keys: tuple[ApiKeyAccount, ...] = API_KEY_ACCOUNTS
