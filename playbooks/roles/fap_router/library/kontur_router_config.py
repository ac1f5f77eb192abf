#!/usr/bin/python
"""Ansible module: push a rendered router configuration with provision.routers (netmiko)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kontur_router_config
short_description: Push a router configuration over SSH; diff, commit, verify, roll back
description:
  - Reads the running configuration, plans the commands that make its managed part equal to
    O(candidate) (the candidate's sections and top-level lines, and top-level lines starting with
    one of O(managed_prefixes)), and reports the change as a unified diff.
  - In check mode only the diff is reported. Otherwise the commands are sent, committed where the
    platform needs it, and verified by re-reading the running configuration; on a refused command
    or a failed verification the saved configuration is restored and the task fails.
  - Runs on the controller (C(connection: local)); the logic lives in C(provision/routers.py).
options:
  host: {description: Management address of the router., type: str, required: true}
  port: {description: SSH port., type: int, default: 22}
  platform:
    description: CMDB platform key (C(frr_vtysh), C(cisco_ios), C(eltex_esr)).
    type: str
    required: true
  username: {description: SSH user., type: str, required: true}
  password: {description: SSH password (from ansible-vault)., type: str, no_log: true}
  key_file: {description: SSH private key file., type: path}
  candidate: {description: The rendered configuration., type: str, required: true}
  managed_prefixes:
    description: Running top-level lines starting with one of these are managed (removed if absent
      from the candidate).
    type: list
    elements: str
    default: []
  save: {description: Write the startup configuration after a successful change., type: bool, default: false}
  timeout: {description: Connect and authentication timeout in seconds., type: float, default: 20}
  known_hosts:
    description: Verify the router's host key against the known_hosts files.
    type: bool
    default: true
author: Kontur project
"""

RETURN = r"""
commands: {description: The configuration commands planned (and sent unless in check mode)., type: list, returned: always}
rolled_back: {description: Whether a failed push was rolled back., type: bool, returned: failure}
"""

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    """Entry point."""
    module = AnsibleModule(
        argument_spec={
            "host": {"type": "str", "required": True},
            "port": {"type": "int", "default": 22},
            "platform": {"type": "str", "required": True},
            "username": {"type": "str", "required": True},
            "password": {"type": "str", "no_log": True},
            "key_file": {"type": "path"},
            "candidate": {"type": "str", "required": True},
            "managed_prefixes": {"type": "list", "elements": "str", "default": []},
            "save": {"type": "bool", "default": False},
            "timeout": {"type": "float", "default": 20.0},
            "known_hosts": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    try:
        from provision import routers
    except ImportError as exc:
        module.fail_json(
            msg="provision.routers is not importable: run the playbook with the Kontur venv "
            f"(ansible_python_interpreter={{{{ ansible_playbook_python }}}}): {exc}"
        )
    p = module.params
    target = routers.Target(
        host=p["host"],
        port=p["port"],
        platform=p["platform"],
        username=p["username"],
        password=p["password"],
        key_file=p["key_file"],
        timeout_s=p["timeout"],
        known_hosts=p["known_hosts"],
    )
    try:
        result = routers.push_to(
            target,
            p["candidate"],
            check=module.check_mode,
            managed_prefixes=p["managed_prefixes"],
            save=p["save"],
        )
    except routers.PushFailed as exc:
        module.fail_json(
            msg=str(exc),
            rolled_back=exc.rolled_back,
            diff={"prepared": exc.diff} if exc.diff else {},
        )
    except routers.RouterError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(
        changed=result.changed,
        commands=list(result.commands),
        saved=result.saved,
        diff={"prepared": result.diff} if result.diff else {},
    )


if __name__ == "__main__":
    main()
