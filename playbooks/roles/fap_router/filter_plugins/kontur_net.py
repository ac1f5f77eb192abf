"""Jinja2 filters for the router templates (no netaddr needed: the stdlib ipaddress module).

``"169.254.1.2/30" | kontur_ip`` → ``169.254.1.2``; ``| kontur_netmask`` → ``255.255.255.252``;
``| kontur_prefix`` → ``30``; ``"169.254.1.2" | kontur_cidr(30)`` → ``169.254.1.2/30`` (a value that
already has a prefix is kept); ``"0.0.0.0/0" | kontur_network`` → ``0.0.0.0``.
"""

from __future__ import annotations

import ipaddress
from typing import Any


def kontur_cidr(value: str, default_prefix: int = 30) -> str:
    """An interface address with its prefix length, adding ``default_prefix`` when absent."""
    text = str(value).strip()
    if "/" not in text:
        text = f"{text}/{default_prefix}"
    return str(ipaddress.ip_interface(text))


def kontur_ip(value: str) -> str:
    """The address part of ``A.B.C.D/N``."""
    return str(ipaddress.ip_interface(str(value).strip()).ip)


def kontur_prefix(value: str) -> int:
    """The prefix length of ``A.B.C.D/N``."""
    return int(ipaddress.ip_interface(str(value).strip()).network.prefixlen)


def kontur_netmask(value: str) -> str:
    """The dotted netmask of ``A.B.C.D/N``."""
    return str(ipaddress.ip_interface(str(value).strip()).network.netmask)


def kontur_network(value: str) -> str:
    """The network address of ``A.B.C.D/N``."""
    return str(ipaddress.ip_interface(str(value).strip()).network.network_address)


class FilterModule:
    """Ansible's entry point for filter plugins."""

    def filters(self) -> dict[str, Any]:
        """The filters by name."""
        return {
            "kontur_cidr": kontur_cidr,
            "kontur_ip": kontur_ip,
            "kontur_prefix": kontur_prefix,
            "kontur_netmask": kontur_netmask,
            "kontur_network": kontur_network,
        }
