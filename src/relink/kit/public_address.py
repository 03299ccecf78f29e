"""Requests to addresses people type in (webhooks) go to the public internet only (no SSRF).

A URL is refused when its host is, or resolves to, an address of this machine or of an
internal network: loopback, private, link-local (where cloud metadata answers), multicast,
reserved or unspecified, IPv4 or IPv6, including IPv4 addresses wrapped in IPv6. Named hosts
can be allowed explicitly (tests run their receiver on 127.0.0.1).

The check runs where the address is used: :class:`GuardedResolver` vets every address it
hands to aiohttp's connector, and the connector connects only to those, so a name that
resolves to a public address when checked and to 127.0.0.1 a moment later (DNS rebinding)
cannot slip through between a check and a connect.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# RFC 6761: these names are this machine whatever a resolver says.
LOCAL_NAMES = ("localhost",)
# The well-known NAT64 prefix (RFC 6052) carries an IPv4 address in its last 32 bits.
NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")


class TargetRefused(OSError):
    """The host is, or resolves to, an address Relink does not send to.

    An ``OSError`` so that aiohttp's connector, which expects resolvers to raise those,
    carries it through unchanged as the cause of its connection error.
    """


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address stands for: mapped, 6to4, NAT64."""
    found = [ip.ipv4_mapped, ip.sixtofour]
    if ip in NAT64_PREFIX:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [address for address in found if address is not None]


def address_problem(ip: IPAddress) -> str | None:
    """Why Relink will not send to ``ip`` (a short phrase), or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        for inner in _embedded_ipv4(ip):
            problem = address_problem(inner)
            if problem is not None:
                return problem
    # The specific kinds first: Python also counts loopback and link-local as "private".
    if ip.is_unspecified:
        return "an unspecified address (it means this machine)"
    if ip.is_loopback:
        return "a loopback address (this machine)"
    if ip.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private address (an internal network)"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "an address that is not on the public internet"
    return None


def normalized_host(host: str) -> str:
    """Lower case, no trailing dot, no IPv6 brackets: the form hosts are compared in."""
    return host.strip().strip("[]").rstrip(".").lower()


def literal_ip(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is written as one (canonical form), else None."""
    try:
        return ipaddress.ip_address(normalized_host(host))
    except ValueError:
        return None


@dataclass(frozen=True)
class HostPolicy:
    """Which hosts may be sent to besides public addresses (named in the settings)."""

    allowed_hosts: frozenset[str] = frozenset()

    @classmethod
    def allowing(cls, hosts: Iterable[str]) -> HostPolicy:
        return cls(frozenset(normalized_host(h) for h in hosts if h.strip()))

    def allows(self, host: str) -> bool:
        """True when ``host`` was allowed by name (IP literals compare as addresses)."""
        name = normalized_host(host)
        if name in self.allowed_hosts:
            return True
        ip = literal_ip(name)
        return ip is not None and any(literal_ip(a) == ip for a in self.allowed_hosts)

    def refusal(self, host: str, addresses: Iterable[str]) -> str | None:
        """Why ``host`` (resolved to ``addresses``) is refused, or None when it may be used.

        Any one bad address refuses the host: the connector might pick that one.
        """
        if self.allows(host):
            return None
        name = normalized_host(host)
        if name in LOCAL_NAMES or name.endswith(tuple(f".{n}" for n in LOCAL_NAMES)):
            return f"{name} is this machine"
        for address in addresses:
            ip = literal_ip(address.split("%", 1)[0])  # an IPv6 zone ("%eth0") is not the address
            if ip is None:
                return f"{name} resolved to {address!r}, which is not an IP address"
            problem = address_problem(ip)
            if problem is not None:
                if literal_ip(name) == ip:
                    return f"{name} is {problem}"
                return f"{name} resolves to {ip}, {problem}"
        return None


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, as connections use it)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class GuardedResolver(AbstractResolver):
    """aiohttp's threaded resolver, refusing hosts whose addresses :class:`HostPolicy` refuses.

    aiohttp connects to exactly the addresses returned here, so what was checked is what is
    used. (IP literals never reach a resolver: check those with :meth:`HostPolicy.refusal`
    before the request.)
    """

    def __init__(self, policy: HostPolicy) -> None:
        self._policy = policy
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        refusal = self._policy.refusal(host, [result["host"] for result in results])
        if refusal is not None:
            raise TargetRefused(refusal)
        return results

    async def close(self) -> None:
        await self._inner.close()
