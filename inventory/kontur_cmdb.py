#!/usr/bin/env python3
"""Ansible inventory script: the hosts, groups and variables of the Kontur CMDB.

    ansible-inventory -i inventory/ --list          (or --graph, --host NAME)
    ansible-playbook -i inventory/ playbooks/fap.yml --limit district_abinsky

The database is ``KONTUR_DATABASE_URL`` (or a ``.env`` file in the working directory), as for the
``kontur`` command; ``kontur inventory --list`` prints the same JSON. The groups and variables
are documented in docs/provisioning.md and in ``provision/inventory.py``. No secret is ever part
of the output.

Run by an interpreter without Kontur installed (``/usr/bin/env python3`` outside the virtual
environment), the script re-executes itself with the repository's ``.venv/bin/python`` or
``KONTUR_PYTHON``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _reexec() -> None:
    here = Path(__file__).resolve()
    candidates = [os.environ.get("KONTUR_PYTHON"), str(here.parent.parent / ".venv/bin/python")]
    for python in candidates:
        if python and Path(python).exists() and Path(python).resolve() != Path(sys.executable):
            os.execv(python, [python, str(here), *sys.argv[1:]])  # noqa: S606
    sys.stderr.write("kontur_cmdb.py: the Kontur package is not installed for this Python\n")
    sys.exit(2)


def main() -> int:
    try:
        from provision.cli import inventory_script
    except ImportError:
        _reexec()
        raise
    return inventory_script(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
