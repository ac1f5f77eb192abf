"""``kontur serve``: the REST API and the web UI under uvicorn."""

from __future__ import annotations

import argparse
from typing import Any

from cmdb.cli.context import CliContext, CommandError


def register_serve(sub: Any) -> None:
    parser = sub.add_parser("serve", help="веб-интерфейс и REST API (uvicorn)")
    parser.add_argument("--host", help="адрес (по умолчанию KONTUR_API__HOST или 127.0.0.1)")
    parser.add_argument("--port", type=int, help="порт (по умолчанию KONTUR_API__PORT или 8080)")
    parser.add_argument(
        "--workers", type=int, default=1, help="число процессов uvicorn (по умолчанию 1)"
    )
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace, ctx: CliContext) -> int:
    import uvicorn

    from api.app import create_app
    from api.settings import load_api_settings
    from cmdb.errors import ConfigError

    try:
        api_settings = load_api_settings()
    except ConfigError as exc:
        raise CommandError(f"ошибка настроек: {exc}", 2) from exc
    if args.host:
        api_settings = api_settings.model_copy(update={"host": args.host})
    if args.port is not None:
        if not 1 <= args.port <= 65535:
            raise CommandError("--port: от 1 до 65535", 2)
        api_settings = api_settings.model_copy(update={"port": args.port})
    app = create_app(ctx.engine(), ctx.settings, api_settings)
    ctx.print(f"Kontur: http://{api_settings.host}:{api_settings.port}/  (Ctrl-C — остановить)")
    uvicorn.run(
        app,
        host=api_settings.host,
        port=api_settings.port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
    )
    return 0
