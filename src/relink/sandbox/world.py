"""Questions about the sandbox's fixed world: who is who, and which accounts a login reaches."""

from __future__ import annotations

from relink.sandbox.seed import Account, ApiKeyAccount, Identity, World


def find_identity(world: World, subject_or_email: str) -> Identity | None:
    """An identity by its subject or (case-insensitively) by its e-mail address."""
    wanted = subject_or_email.strip().lower()
    for identity in world.identities:
        if identity.subject.lower() == wanted or identity.email.lower() == wanted:
            return identity
    return None


def find_account(world: World, account_id: str) -> Account | None:
    for account in world.accounts:
        if account.id == account_id:
            return account
    return None


def sub_accounts(world: World, manager_id: str) -> list[Account]:
    return [a for a in world.accounts if a.manager_id == manager_id]


def reachable_accounts(world: World, identity: Identity) -> list[Account]:
    """Accounts a login reaches: its own, and the sub-accounts of any manager account it owns.

    Unlinking is applied by the caller, because it depends on the faults switched on.
    """
    seen: dict[str, Account] = {}
    for account_id in identity.account_ids:
        account = find_account(world, account_id)
        if account is None:
            continue
        seen.setdefault(account.id, account)
        for sub in sub_accounts(world, account.id):
            seen.setdefault(sub.id, sub)
    return list(seen.values())


def reached_through_manager(world: World, identity: Identity, account_id: str) -> bool:
    """True when the login reaches this account only through its manager (so unlinking hides it)."""
    if account_id in identity.account_ids:
        return False
    account = find_account(world, account_id)
    return account is not None and account.manager_id in identity.account_ids


def api_key_account(world: World, account_id: str) -> ApiKeyAccount | None:
    for entry in world.api_keys:
        if entry.account.id == account_id:
            return entry
    return None
