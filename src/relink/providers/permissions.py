"""Which permission a `permission_denied` answer is about, so its hint can name it.

The provider's own answer wins when it names the permission:

- RFC 6750 section 3.1: ``WWW-Authenticate: Bearer error="insufficient_scope", scope="..."``
  (Google APIs answer insufficient scopes this way, next to ``ACCESS_TOKEN_SCOPE_INSUFFICIENT``
  in the body);
- the catalog's ``errors.permission_paths``: where a provider's body lists the missing
  permissions (HubSpot's ``errors[*].context.requiredScopes``);
- the catalog's scopes mentioned in the answer's text (Meta's "(#200) Requires ads_read
  permission", the sandbox's "The grant lacks the 'ads.read' scope").

Otherwise the hint names the scopes the catalog asks for at sign-in. Pure: no I/O, no database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from relink.providers.json_path import resolve
from relink.providers.spec import ProviderSpec
from relink.providers.taxonomy import ErrorClass

# OpenID Connect's identity scopes (OIDC Core 5.4, 11): who the login is, not what it may read.
IDENTITY_SCOPES: Final = frozenset({"openid", "email", "profile", "offline_access"})
# A hint stays one readable sentence: an answer listing dozens of alternatives is cut here.
MAX_NAMED: Final = 4
# A permission name is a short token (ads_read, crm.objects.contacts.read, an https scope URI);
# anything else in those places is not shown, so an answer cannot write prose into our hints.
_PERMISSION: Final = re.compile(r"[A-Za-z0-9_.:/\-]{1,120}")
_AUTH_PARAM: Final = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')


def permission_hint(
    spec: ProviderSpec,
    error_class: ErrorClass,
    hint: str,
    *,
    document: Any,
    text: str,
    headers: Mapping[str, str] | None,
) -> str:
    """``hint``, naming the permission when ``error_class`` is ``permission_denied``."""
    if error_class is not ErrorClass.PERMISSION_DENIED:
        return hint
    asked = asked_permissions(spec, document=document, text=text, headers=headers)
    if asked:
        return f"{hint} {spec.short_name} asked for {_listed(asked)}."
    needed = required_scopes(spec)
    if needed:
        return f"{hint} Relink's sign-in needs {_listed(needed)}."
    return hint


def asked_permissions(
    spec: ProviderSpec, *, document: Any, text: str, headers: Mapping[str, str] | None
) -> list[str]:
    """The permissions the answer itself names, most specific source first."""
    known = required_scopes(spec)
    from_header = _insufficient_scope(headers)
    # Google lists every scope that would do; the one Relink asks for is the useful one.
    from_header = [s for s in from_header if s in known] or from_header
    from_body = [
        str(value)
        for path in spec.errors.permission_paths
        for value in _flatten(resolve(document, path))
    ]
    mentioned = [scope for scope in known if _mentions(text, scope)]
    return _clean([*from_header, *from_body, *mentioned])


def required_scopes(spec: ProviderSpec) -> list[str]:
    """The catalog's sign-in scopes that grant access to data (identity scopes left out)."""
    if spec.oauth is None:
        return []
    return [scope for scope in spec.oauth.scopes if scope not in IDENTITY_SCOPES]


def _insufficient_scope(headers: Mapping[str, str] | None) -> list[str]:
    if not headers:
        return []
    for name, value in headers.items():
        if name.lower() != "www-authenticate":
            continue
        params: dict[str, str] = {
            key.lower(): quoted or bare for key, quoted, bare in _AUTH_PARAM.findall(value)
        }
        if params.get("error") == "insufficient_scope":
            return params.get("scope", "").split()
    return []


def _flatten(values: Iterable[Any]) -> Iterable[Any]:
    for value in values:
        if isinstance(value, list):
            yield from _flatten(value)
        elif isinstance(value, str | int):
            yield value


def _mentions(text: str, scope: str) -> bool:
    # A whole token: "ads_read" must not be found inside "ads_read_extended".
    pattern = rf"(?<![A-Za-z0-9_./:\-]){re.escape(scope)}(?![A-Za-z0-9_/:\-])(?!\.[A-Za-z0-9])"
    return re.search(pattern, text) is not None


def _clean(names: list[str]) -> list[str]:
    seen: list[str] = []
    for name in names:
        if _PERMISSION.fullmatch(name) and name not in seen:
            seen.append(name)
    return seen[:MAX_NAMED]


def _listed(names: list[str]) -> str:
    noun = "the permission" if len(names) == 1 else "the permissions"
    return f"{noun} {', '.join(names)}"
