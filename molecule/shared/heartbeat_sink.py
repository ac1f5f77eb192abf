"""A stand-in for the collector's heartbeat endpoint: records each POST (headers, JSON) to a file.

Run on the host side of a test host's veth link, e.g.
``heartbeat_sink.py 169.254.186.1 18186 /path/heartbeats.jsonl``. Standard library only.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    """Serve until killed."""
    address, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            record = {
                "path": self.path,
                "authorization": self.headers.get("Authorization", ""),
                "body": json.loads(body) if body.startswith("{") else body,
            }
            with open(out, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.send_response(202)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "accepted"}')

        def log_message(self, format: str, *args: object) -> None:
            return

    ThreadingHTTPServer((address, port), Handler).serve_forever()


if __name__ == "__main__":
    main()
