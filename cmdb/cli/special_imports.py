"""Imports that are not plain entity files: each maps ``kontur import NAME FILE`` to a handler.

A handler is ``module:function`` taking ``(args, ctx) -> int``; it is imported only when used.
"""

from __future__ import annotations

from typing import Final

SPECIAL_IMPORTS: Final[dict[str, str]] = {
    "vipnet-iplir": "cmdb.cli.vipnet_cmd:import_iplir",
    "vipnet-nodename": "cmdb.cli.vipnet_cmd:import_nodename",
    "status-events": "cmdb.cli.ledger_cmd:import_status_events",
}
