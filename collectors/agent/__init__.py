"""``kontur-agent``: a small push agent for AWPs and servers (Python standard library only).

It collects the hostname, uptime, the ViPNet client's state and key/certificate expiry, disk and
memory use, and POSTs them as JSON to the collector's ``/api/v1/heartbeat`` with a bearer token.
Push only, so it works behind NAT. Nothing here may import outside the standard library: the agent
must install on a bare workstation.
"""

from __future__ import annotations

__version__ = "0.1.0"
