"""``python -m collectors.agent``: run ``kontur-agent``."""

from __future__ import annotations

import sys

from collectors.agent.main import main

sys.exit(main())
