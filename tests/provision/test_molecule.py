"""The molecule scenarios (delegated driver, network-namespace hosts with sshd), one test each.

Each runs ``molecule test -s NAME``: destroy, create, (prepare), converge, idempotence (a second
converge must change nothing), verify (testinfra), destroy. Bounded by a timeout per scenario.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.provision import helpers_netns

pytestmark = [pytest.mark.backend_neutral, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))
TIMEOUT_S = 480  # a loaded 2-core machine needs up to ~3 min for dc_baseline


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(scenario: str) -> None:
    reason = helpers_netns.unavailable_reason()
    if reason:
        pytest.skip(f"molecule scenarios need namespace hosts: {reason}")
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["NO_COLOR"] = "1"
    env.pop("ANSIBLE_CONFIG", None)
    try:
        done = subprocess.run(
            [str(BIN / "molecule"), "test", "-s", scenario],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        subprocess.run(
            [str(BIN / "molecule"), "destroy", "-s", scenario],
            capture_output=True, env=env, cwd=ROOT, timeout=120, check=False,
        )  # fmt: skip
        pytest.fail(f"molecule test -s {scenario} took longer than {TIMEOUT_S} s")
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    assert "idempotence" in done.stdout + done.stderr
