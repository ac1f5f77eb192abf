"""Device platforms: the driver keys netmiko/napalm (and our own pollers) will dispatch on.

A registry as a dict, as in netmiko's ``CLASS_MAPPER``: an unknown key is an error listing the
valid ones. Values describe the platform for people.
"""

from __future__ import annotations

from typing import Final

PLATFORMS: Final[dict[str, str]] = {
    "cisco_ios": "Cisco IOS / IOS-XE",
    "cisco_nxos": "Cisco NX-OS",
    "huawei_vrp": "Huawei VRP",
    "juniper_junos": "Juniper Junos",
    "mikrotik_routeros": "MikroTik RouterOS",
    "eltex_esr": "Eltex ESR",
    "eltex_mes": "Eltex MES switches",
    "qtech_qsw": "Qtech QSW switches",
    "frr_vtysh": "FRRouting (vtysh)",
    "linux": "Linux server (SSH)",
    "windows": "Windows server",
    "vipnet_coordinator_hw": "ViPNet Coordinator HW (InfoTeCS)",
    "vipnet_coordinator_va": "ViPNet Coordinator VA (InfoTeCS)",
    "apc_ups": "APC UPS (SNMP only)",
    "generic_snmp": "Any SNMP-managed device",
}


def valid_platforms() -> str:
    """The valid platform keys, comma separated, for error messages."""
    return ", ".join(sorted(PLATFORMS))
