"""``kontur-agent``: collect host facts and push them to the Kontur collector, once or in a loop.

Configuration: command-line flags, and the environment for what should not be on a command line
(``ps`` shows it to every user): ``KONTUR_AGENT_URL``, ``KONTUR_AGENT_TOKEN`` or
``KONTUR_AGENT_TOKEN_FILE``, ``KONTUR_AGENT_NAME``, ``KONTUR_AGENT_LOCALE``. There is deliberately
no ``--token`` flag. The token file is re-read before every push, so a rotated token is picked up
without a restart. The token is never printed or logged.

Exit codes: 0 delivered (``--once``) or stopped by a signal; 1 refused by the server (401/403,
or another 4xx); 2 usage or configuration error; 3 not delivered after the allowed attempts
(``--once``: network, TLS, 5xx).

Failures are retried with bounded exponential backoff with jitter (so a thousand AWPs do not
return in step after an outage); a refused token stops the agent, since retrying cannot help.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import random
import signal
import ssl
import stat
import sys
import threading
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from collectors.agent import __version__
from collectors.agent.facts import (
    DEFAULT_VIPNET_PROCESSES,
    DEFAULT_VIPNET_UNIT,
    FactsConfig,
    collect,
)
from collectors.agent.transport import (
    Outcome,
    Pusher,
    PushResult,
    heartbeat_url,
    tls_context,
)

logger = logging.getLogger("kontur_agent")

EXIT_OK: Final = 0
EXIT_REFUSED: Final = 1
EXIT_USAGE: Final = 2
EXIT_UNDELIVERED: Final = 3

MAX_TOKEN_LENGTH: Final = 256

#: User-facing messages: key → (Russian, English).
MESSAGES: dict[str, tuple[str, str]] = {
    "description": (
        "Агент Kontur: отправляет состояние АРМ или сервера (uptime, ViPNet, диски, память) "
        "на сервер мониторинга.",
        "Kontur agent: pushes the state of a workstation or server (uptime, ViPNet, disks, "
        "memory) to the monitoring server.",
    ),
    "no_url": (
        "не задан адрес сервера: укажите --url или KONTUR_AGENT_URL",
        "no server address: give --url or KONTUR_AGENT_URL",
    ),
    "bad_url": (
        "неверный адрес сервера {url!r}: ожидается http(s)://хост[:порт][/путь]",
        "bad server address {url!r}: expected http(s)://host[:port][/path]",
    ),
    "no_token": (
        "не задан токен агента: укажите --token-file, KONTUR_AGENT_TOKEN_FILE "
        "или KONTUR_AGENT_TOKEN",
        "no agent token: give --token-file, KONTUR_AGENT_TOKEN_FILE or KONTUR_AGENT_TOKEN",
    ),
    "token_file": (
        "не удаётся прочитать файл токена {path}: {detail}",
        "cannot read the token file {path}: {detail}",
    ),
    "bad_token": (
        "токен агента имеет неверный вид (пустой, с пробелами или длиннее {max} символов)",
        "the agent token is malformed (empty, with spaces or longer than {max} characters)",
    ),
    "token_perms": (
        "файл токена {path} доступен другим пользователям; выполните chmod 600 {path}",
        "the token file {path} is readable by other users; run chmod 600 {path}",
    ),
    "ca_file": (
        "не удаётся загрузить сертификаты УЦ из {path}: {detail}",
        "cannot load CA certificates from {path}: {detail}",
    ),
    "plain_http": (
        "адрес {url} без TLS: токен передаётся открытым текстом (допустимо только внутри "
        "защищённой сети ViPNet)",
        "{url} has no TLS: the token travels in clear text (acceptable only inside the ViPNet "
        "protected network)",
    ),
    "delivered": (
        "состояние отправлено на {url} (HTTP {status})",
        "state sent to {url} (HTTP {status})",
    ),
    "refused": (
        "сервер отказал в доступе (HTTP {status}): токен агента неизвестен или отозван. "
        "Получите новый токен у администратора (kontur agent token create). {detail}",
        "the server refused access (HTTP {status}): the agent token is unknown or revoked. "
        "Ask the administrator for a new token (kontur agent token create). {detail}",
    ),
    "rejected": (
        "сервер не принял данные (HTTP {status}): {detail}",
        "the server did not accept the data (HTTP {status}): {detail}",
    ),
    "failed": (
        "не удалось отправить состояние на {url}: {detail}; следующая попытка через {delay:.0f} с",
        "could not send the state to {url}: {detail}; next attempt in {delay:.0f} s",
    ),
    "gave_up": (
        "не удалось отправить состояние на {url} за {attempts} попыт.: {detail}",
        "could not send the state to {url} in {attempts} attempt(s): {detail}",
    ),
    "stopped": ("остановлен по сигналу", "stopped by a signal"),
    "bad_positive": (
        "должно быть положительным числом: {value!r}",
        "must be a positive number: {value!r}",
    ),
}


def _m(locale: str, key: str, /, **params: Any) -> str:
    ru, en = MESSAGES[key]
    return (en if locale == "en" else ru).format(**params)


class ConfigProblem(Exception):
    """A configuration error with a user-facing message (exit code 2)."""


@dataclass(frozen=True)
class AgentConfig:
    """Everything a run needs; built from flags and the environment by :func:`load_config`."""

    url: str
    token: str | None
    token_file: Path | None
    facts: FactsConfig
    ca_file: Path | None
    once: bool
    interval_s: float
    timeout_s: float
    attempts: int
    backoff_base_s: float
    max_backoff_s: float
    locale: str
    dry_run: bool


def backoff_delay(
    failures: int, base_s: float, cap_s: float, rand: Callable[[], float] = random.random
) -> float:
    """Seconds to wait after ``failures`` (>= 1) failures in a row: exponential, capped, jittered.

    The ceiling doubles per failure from ``base_s`` up to ``cap_s``; the wait is drawn from its
    upper half, so waits never shrink to nothing and agents spread out.
    """
    exponent = min(max(failures, 1) - 1, 32)
    ceiling = min(cap_s, base_s * (2.0**exponent))
    return ceiling / 2 + rand() * ceiling / 2


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(_m("ru", "bad_positive", value=text))
    return value


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(_m("ru", "bad_positive", value=text))
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """The agent's argument parser."""
    parser = argparse.ArgumentParser(prog="kontur-agent", description=_m("ru", "description"))
    parser.add_argument("--version", action="version", version=f"kontur-agent {__version__}")
    parser.add_argument("--url", help="адрес сервера Kontur (или KONTUR_AGENT_URL)")
    parser.add_argument(
        "--token-file",
        type=Path,
        help="файл с токеном агента (или KONTUR_AGENT_TOKEN_FILE / KONTUR_AGENT_TOKEN)",
    )
    parser.add_argument(
        "--name", help="имя токена, как его выдал администратор (KONTUR_AGENT_NAME)"
    )
    parser.add_argument("--hostname", help="имя хоста в отчёте (по умолчанию системное)")
    parser.add_argument(
        "--mount",
        action="append",
        dest="mounts",
        metavar="PATH",
        help="файловая система для отчёта о месте (можно несколько раз; по умолчанию /)",
    )
    parser.add_argument(
        "--vipnet-unit",
        default=DEFAULT_VIPNET_UNIT,
        help=f"служба systemd клиента ViPNet ({DEFAULT_VIPNET_UNIT}; пустая строка — не проверять)",
    )
    parser.add_argument(
        "--vipnet-process",
        action="append",
        dest="vipnet_processes",
        metavar="NAME",
        help=f"имя процесса ViPNet (по умолчанию: {', '.join(DEFAULT_VIPNET_PROCESSES)})",
    )
    parser.add_argument(
        "--vipnet-status-file",
        type=Path,
        help="файл JSON или key=value со сроками ключей и сертификата ViPNet",
    )
    parser.add_argument("--ca-file", type=Path, help="сертификаты УЦ для проверки TLS сервера")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="отправить один раз и выйти")
    mode.add_argument(
        "--interval",
        type=_positive,
        default=60.0,
        metavar="SECONDS",
        help="период отправки в цикле (по умолчанию 60 с)",
    )
    parser.add_argument("--timeout", type=_positive, default=10.0, metavar="SECONDS")
    parser.add_argument(
        "--attempts",
        type=_count,
        default=3,
        help="попыток при --once (по умолчанию 3)",
    )
    parser.add_argument("--backoff-base", type=_positive, default=5.0, metavar="SECONDS")
    parser.add_argument("--max-backoff", type=_positive, default=300.0, metavar="SECONDS")
    parser.add_argument(
        "--locale", choices=("ru", "en"), help="язык сообщений (KONTUR_AGENT_LOCALE)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="вывести JSON отчёта и ничего не отправлять"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="подробный журнал")
    return parser


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_config(args: argparse.Namespace, env: Mapping[str, str]) -> AgentConfig:
    """Combine flags and the environment; :class:`ConfigProblem` with a message if unusable."""
    locale = args.locale or env.get("KONTUR_AGENT_LOCALE") or env.get("KONTUR_LOCALE") or "ru"
    locale = "en" if locale == "en" else "ru"
    url = args.url or env.get("KONTUR_AGENT_URL")
    if not url and not args.dry_run:
        raise ConfigProblem(_m(locale, "no_url"))
    if url:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigProblem(_m(locale, "bad_url", url=url))
        url = heartbeat_url(url)
    token_file = args.token_file
    if token_file is None and env.get("KONTUR_AGENT_TOKEN_FILE"):
        token_file = Path(env["KONTUR_AGENT_TOKEN_FILE"])
    token = None if token_file is not None else env.get("KONTUR_AGENT_TOKEN") or None
    if token_file is None and token is None and not args.dry_run:
        raise ConfigProblem(_m(locale, "no_token"))
    facts = FactsConfig(
        hostname=args.hostname,
        token_name=args.name or env.get("KONTUR_AGENT_NAME") or None,
        mounts=tuple(args.mounts or ("/",)),
        vipnet_unit=args.vipnet_unit or None,
        vipnet_processes=tuple(args.vipnet_processes or DEFAULT_VIPNET_PROCESSES),
        vipnet_status_file=args.vipnet_status_file,
        locale=locale,
    )
    return AgentConfig(
        url=url or "",
        token=token,
        token_file=token_file,
        facts=facts,
        ca_file=args.ca_file,
        once=args.once,
        interval_s=args.interval,
        timeout_s=args.timeout,
        attempts=args.attempts,
        backoff_base_s=args.backoff_base,
        max_backoff_s=args.max_backoff,
        locale=locale,
        dry_run=args.dry_run,
    )


def read_token(config: AgentConfig) -> str:
    """The token to present: the file's content (re-read each time) or the environment's."""
    locale = config.locale
    token = config.token
    if config.token_file is not None:
        path = config.token_file
        try:
            with path.open("rb") as handle:
                mode = os.fstat(handle.fileno()).st_mode
                raw = handle.read(MAX_TOKEN_LENGTH + 64)
        except OSError as exc:
            raise ConfigProblem(
                _m(locale, "token_file", path=path, detail=exc.strerror or exc)
            ) from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            logger.warning(_m(locale, "token_perms", path=path))
        token = raw.decode("ascii", errors="replace").strip()
    if token is None:
        raise ConfigProblem(_m(locale, "no_token"))
    if (
        not token
        or len(token) > MAX_TOKEN_LENGTH
        or not token.isascii()
        or not token.isprintable()
        or any(ch.isspace() for ch in token)
    ):
        raise ConfigProblem(_m(locale, "bad_token", max=MAX_TOKEN_LENGTH))
    return token


class Agent:
    """One configured agent: collects and pushes, with retries, until done or stopped."""

    def __init__(self, config: AgentConfig, pusher: Pusher, stop: threading.Event) -> None:
        self.config = config
        self.pusher = pusher
        self.stop = stop

    def _body(self) -> bytes:
        return json.dumps(collect(self.config.facts), ensure_ascii=False).encode("utf-8")

    def _push(self) -> PushResult:
        return self.pusher.push(self._body(), read_token(self.config))

    def _report(self, result: PushResult) -> None:
        locale, url = self.config.locale, self.config.url
        if result.outcome is Outcome.DELIVERED:
            logger.info(_m(locale, "delivered", url=url, status=result.status))
        elif result.outcome is Outcome.REFUSED:
            logger.error(_m(locale, "refused", status=result.status, detail=result.detail).strip())
        elif result.outcome is Outcome.REJECTED:
            logger.error(_m(locale, "rejected", status=result.status, detail=result.detail))

    def _failure_detail(self, result: PushResult) -> str:
        if result.status is not None:
            return f"HTTP {result.status} {result.detail}".strip()
        return result.detail

    def run_once(self) -> int:
        """Push once, retrying failures up to ``attempts`` times; returns the exit code."""
        cfg = self.config
        result = PushResult(Outcome.FAILED)
        for attempt in range(1, cfg.attempts + 1):
            result = self._push()
            self._report(result)
            if result.outcome is Outcome.DELIVERED:
                return EXIT_OK
            if result.outcome is not Outcome.FAILED:
                return EXIT_REFUSED
            if attempt == cfg.attempts:
                break
            delay = backoff_delay(attempt, cfg.backoff_base_s, cfg.max_backoff_s)
            detail = self._failure_detail(result)
            logger.warning(_m(cfg.locale, "failed", url=cfg.url, detail=detail, delay=delay))
            if self.stop.wait(delay):
                return EXIT_UNDELIVERED
        detail = self._failure_detail(result)
        logger.error(_m(cfg.locale, "gave_up", url=cfg.url, attempts=cfg.attempts, detail=detail))
        return EXIT_UNDELIVERED

    def run_forever(self) -> int:
        """Push every ``interval_s`` until stopped; back off on failures; stop if refused."""
        cfg = self.config
        failures = 0
        while not self.stop.is_set():
            result = self._push()
            self._report(result)
            if result.outcome is Outcome.REFUSED:
                return EXIT_REFUSED
            if result.outcome is Outcome.DELIVERED:
                failures = 0
                delay = cfg.interval_s
            else:
                failures += 1
                delay = backoff_delay(failures, cfg.backoff_base_s, cfg.max_backoff_s)
                if result.outcome is Outcome.FAILED:
                    detail = self._failure_detail(result)
                    logger.warning(
                        _m(cfg.locale, "failed", url=cfg.url, detail=detail, delay=delay)
                    )
            self.stop.wait(delay)
        logger.info(_m(cfg.locale, "stopped"))
        return EXIT_OK


def _install_signal_handlers(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: object) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``kontur-agent``; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="kontur-agent: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        config = load_config(args, os.environ)
        if config.dry_run:
            sys.stdout.write(json.dumps(collect(config.facts), ensure_ascii=False, indent=2) + "\n")
            return EXIT_OK
        read_token(config)  # fail early on a missing or malformed token
        try:
            context = tls_context(config.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigProblem(
                _m(config.locale, "ca_file", path=config.ca_file, detail=exc)
            ) from exc
    except ConfigProblem as exc:
        logger.error("%s", exc)
        return EXIT_USAGE
    parts = urllib.parse.urlsplit(config.url)
    if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
        logger.warning(_m(config.locale, "plain_http", url=config.url))
    stop = threading.Event()
    _install_signal_handlers(stop)
    agent = Agent(config, Pusher(config.url, timeout_s=config.timeout_s, context=context), stop)
    try:
        return agent.run_once() if config.once else agent.run_forever()
    except ConfigProblem as exc:  # e.g. the token file vanished between pushes
        logger.error("%s", exc)
        return EXIT_USAGE
