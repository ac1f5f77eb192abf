"""``kontur-agent`` as a real subprocess pushing to the real HTTP app (and its pieces in-process).

The agent runs as ``python -S -m collectors.agent``: ``-S`` leaves out site-packages, so every
push here also proves that the agent needs nothing beyond the standard library.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cmdb.agent_tokens import create_token, list_tokens, revoke_token
from cmdb.models import AgentHeartbeat, AuditEntry
from collectors.agent import facts
from collectors.agent.main import backoff_delay, main
from tests.collectors.test_http import Recorder, ServerThread
from tests.factories import make_world

REPO = Path(__file__).resolve().parents[2]
AGENT = "arm-001"  # the token's name
FAKE = "some-token-value"


def agent_env(**extra: str) -> dict[str, str]:
    """A clean environment for the agent: no proxies, no inherited KONTUR_* settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("KONTUR_") and "proxy" not in k.lower()
    }
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def run_agent(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-S", "-m", "collectors.agent", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def common_args(url: str, *extra: str) -> list[str]:
    return [
        "--url",
        url,
        "--hostname",
        "arm-mo-1-001",
        "--vipnet-unit",
        "",
        "--attempts",
        "1",
        "-v",
        *extra,
    ]


def stored(engine: Engine) -> dict[str, AgentHeartbeat]:
    with Session(engine) as session:
        return {r.token_name: r for r in session.scalars(select(AgentHeartbeat))}


def denials(engine: Engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == "deny")))


@pytest.fixture
def token(engine: Engine) -> str:
    make_world(engine)
    _, plain = create_token(
        engine, "arm-001", object_kind="workstation", object_key="arm-mo-1-001", actor="tester"
    )
    return plain


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_agent_pushes_a_heartbeat(engine: Engine, token: str, tmp_path: Path) -> None:
    status_file = tmp_path / "vipnet.json"
    status_file.write_text(
        json.dumps({"keys_valid_until": "2027-02-01", "certificate_valid_until": "01.03.2027"})
    )
    recorder = Recorder()
    with ServerThread(engine, on_heartbeat=recorder) as server:
        done = run_agent(
            *common_args(server.url, "--once", "--name", "arm-001"),
            "--mount",
            "/",
            "--mount",
            str(tmp_path),
            "--vipnet-status-file",
            str(status_file),
            env=agent_env(KONTUR_AGENT_TOKEN=token),
        )
    assert done.returncode == 0, done.stderr
    assert "состояние отправлено" in done.stderr
    assert token not in done.stderr + done.stdout

    row = stored(engine)["arm-001"]
    payload = row.payload
    assert payload["hostname"] == "arm-mo-1-001"
    assert payload["token_name"] == AGENT
    assert payload["uptime_s"] > 0
    assert payload["vipnet"] == {
        "service_active": None,
        "process_running": False,
        "keys_valid_until": "2027-02-01",
        "certificate_valid_until": "2027-03-01",
    }
    assert [d["mount"] for d in payload["disk"]] == ["/", str(tmp_path)]
    assert all(0 <= d["free_bytes"] <= d["total_bytes"] for d in payload["disk"])
    assert 0 < payload["memory"]["available_bytes"] <= payload["memory"]["total_bytes"]
    sent = dt.datetime.fromisoformat(payload["sent_at"])
    assert abs((row.received_at - sent).total_seconds()) < 60

    [call] = recorder.calls
    assert (call.name, call.kind, call.key) == ("arm-001", "workstation", "arm-mo-1-001")
    assert call.heartbeat.memory is not None
    assert call.received_at == row.received_at
    assert list_tokens(engine)[0].last_used_at == row.received_at


def test_agent_reads_the_token_from_a_file(engine: Engine, token: str, tmp_path: Path) -> None:
    token_file = tmp_path / "agent.token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    with ServerThread(engine) as server:
        done = run_agent(
            *common_args(server.url, "--once"),
            env=agent_env(KONTUR_AGENT_TOKEN_FILE=str(token_file)),
        )
        assert done.returncode == 0, done.stderr
        assert "доступен другим пользователям" not in done.stderr
        token_file.chmod(0o644)
        done = run_agent(
            *common_args(server.url, "--once", "--token-file", str(token_file)), env=agent_env()
        )
    assert done.returncode == 0, done.stderr
    assert f"chmod 600 {token_file}" in done.stderr
    assert token not in done.stderr
    assert "arm-001" in stored(engine)


def test_wrong_token_exits_1_and_is_audited(engine: Engine, token: str) -> None:
    wrong = token[::-1]
    with ServerThread(engine) as server:
        done = run_agent(
            *common_args(server.url, "--once", "--name", "arm-001"),
            env=agent_env(KONTUR_AGENT_TOKEN=wrong),
        )
        unauthorized = server.registry.get_sample_value(
            "kontur_agent_heartbeats_total", {"result": "unauthorized"}
        )
    assert done.returncode == 1
    assert "сервер отказал в доступе (HTTP 401)" in done.stderr
    assert "неизвестный токен агента" in done.stderr  # the server's own explanation
    assert wrong not in done.stderr + done.stdout
    assert unauthorized == 1
    assert stored(engine) == {}
    [entry] = denials(engine)
    assert (entry.entity, entry.entity_key, entry.source) == ("agent_token", "arm-001", "127.0.0.1")
    assert wrong not in json.dumps([entry.before, entry.after])
    assert token not in json.dumps([entry.before, entry.after])


def test_revoked_token_exits_1_in_english(engine: Engine, token: str) -> None:
    revoke_token(engine, "arm-001", actor="tester")
    with ServerThread(engine) as server:
        done = run_agent(
            *common_args(server.url, "--once", "--locale", "en"),
            env=agent_env(KONTUR_AGENT_TOKEN=token),
        )
    assert done.returncode == 1
    assert "the server refused access (HTTP 401)" in done.stderr
    assert token not in done.stderr
    [entry] = denials(engine)
    assert entry.entity_key == "arm-001"


def test_unreachable_server_is_retried_then_exit_3(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = run_agent(
        "--url",
        url,
        "--once",
        "--attempts",
        "3",
        "--backoff-base",
        "0.05",
        "--vipnet-unit",
        "",
        env=agent_env(KONTUR_AGENT_TOKEN=FAKE),
    )
    assert done.returncode == 3
    assert done.stderr.count("следующая попытка через") == 2
    assert "за 3 попыт." in done.stderr
    assert FAKE not in done.stderr


def test_configuration_errors_exit_2(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    for name in [n for n in os.environ if n.startswith("KONTUR_AGENT")]:
        monkeypatch.delenv(name)
    caplog.set_level(logging.INFO)

    def run(*argv: str) -> tuple[int, str]:
        caplog.clear()
        code = main(list(argv))
        return code, caplog.text

    code, text = run("--once")
    assert code == 2
    assert "не задан адрес сервера" in text
    code, text = run("--once", "--url", "ftp://127.0.0.1/")
    assert code == 2
    assert "неверный адрес сервера" in text
    code, text = run("--once", "--url", "http://127.0.0.1:1")
    assert code == 2
    assert "не задан токен агента" in text
    monkeypatch.setenv("KONTUR_AGENT_TOKEN", "two words")
    code, text = run("--once", "--url", "http://127.0.0.1:1")
    assert code == 2
    assert "неверный вид" in text
    assert "two words" not in text
    code, text = run("--once", "--url", "http://127.0.0.1:1", "--token-file", str(tmp_path / "x"))
    assert code == 2
    assert "не удаётся прочитать файл токена" in text
    monkeypatch.setenv("KONTUR_AGENT_TOKEN", "good-token")
    bad_ca = tmp_path / "ca.pem"
    bad_ca.write_text("not a certificate")
    code, text = run("--once", "--url", "https://127.0.0.1:1", "--ca-file", str(bad_ca))
    assert code == 2
    assert "сертификаты УЦ" in text
    assert main(["--once", "--interval", "5", "--url", "http://127.0.0.1:1"]) == 2
    assert main(["--interval", "0"]) == 2
    assert main(["--version"]) == 0


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 made with openssl; (cert, key)."""
    cert, key = directory / "server.pem", directory / "server.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.mark.skipif(not Path("/usr/bin/openssl").exists(), reason="openssl is not installed")
def test_tls_is_verified_unless_the_ca_is_given(engine: Engine, token: str, tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with ServerThread(engine, ssl_context=context) as server:
        assert server.url.startswith("https://")
        untrusted = run_agent(
            *common_args(server.url, "--once"), env=agent_env(KONTUR_AGENT_TOKEN=token)
        )
        trusted = run_agent(
            *common_args(server.url, "--once", "--ca-file", str(cert)),
            env=agent_env(KONTUR_AGENT_TOKEN=token),
        )
    assert untrusted.returncode == 3
    assert "TLS" in untrusted.stderr
    assert trusted.returncode == 0, trusted.stderr
    assert "arm-001" in stored(engine)


class _Redirector(http.server.BaseHTTPRequestHandler):
    """Answers every POST with 307 to another path and records what reached it."""

    seen: list[tuple[str, str | None]] = []  # noqa: RUF012 - a test double's shared log

    def do_POST(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        self.send_response(307)
        self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def redirector() -> Iterator[str]:
    _Redirector.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_redirects_are_not_followed(redirector: str) -> None:
    """A redirect could carry the token elsewhere: the agent stops instead (exit 1)."""
    done = run_agent(
        "--url",
        redirector,
        "--once",
        "--vipnet-unit",
        "",
        env=agent_env(KONTUR_AGENT_TOKEN=FAKE),
    )
    assert done.returncode == 1
    assert "HTTP 307" in done.stderr
    assert [path for path, _auth in _Redirector.seen] == ["/api/v1/heartbeat"]


def wait_for(predicate: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def start_agent(args: Sequence[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-S", "-m", "collectors.agent", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_loop_pushes_until_terminated(engine: Engine, token: str) -> None:
    recorder = Recorder()
    with ServerThread(engine, on_heartbeat=recorder) as server:
        proc = start_agent(
            common_args(server.url, "--interval", "0.2"), agent_env(KONTUR_AGENT_TOKEN=token)
        )
        try:
            wait_for(lambda: len(recorder.calls) >= 3)
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err
    assert "остановлен по сигналу" in err
    assert token not in err


def test_loop_stops_with_1_when_the_token_is_revoked(engine: Engine, token: str) -> None:
    recorder = Recorder()
    with ServerThread(engine, on_heartbeat=recorder) as server:
        proc = start_agent(
            common_args(server.url, "--interval", "0.2"), agent_env(KONTUR_AGENT_TOKEN=token)
        )
        try:
            wait_for(lambda: len(recorder.calls) >= 1)
            revoke_token(engine, "arm-001", actor="tester")
            _out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 1
    assert "сервер отказал в доступе" in err


def test_agent_imports_only_the_standard_library() -> None:
    code = (
        "import sys, collectors.agent.main, collectors.agent.facts, collectors.agent.transport\n"
        "top = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(top & {'aiohttp', 'pydantic', 'sqlalchemy', 'cmdb', 'prometheus_client',"
        " 'yaml', 'orjson'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


# --- pieces -----------------------------------------------------------------------------------


def test_backoff_doubles_to_a_cap_with_jitter() -> None:
    low = [backoff_delay(n, 5, 300, rand=lambda: 0.0) for n in range(1, 10)]
    high = [backoff_delay(n, 5, 300, rand=lambda: 1.0) for n in range(1, 10)]
    assert high == [5, 10, 20, 40, 80, 160, 300, 300, 300]
    assert low == [h / 2 for h in high]
    assert backoff_delay(10_000, 5, 300, rand=lambda: 1.0) == 300


def test_process_detection_reads_proc(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    for pid, comm in (("1", "systemd"), ("42", "itcsrvd"), ("self", "x")):
        (proc / pid).mkdir(parents=True)
        (proc / pid / "comm").write_text(comm + "\n")
    assert facts.process_running(["vipnetclient", "itcsrvd"], proc) is True
    assert facts.process_running(["vipnetclient"], proc) is False
    assert facts.process_running(["vipnetclient"], tmp_path / "none") is None
    # the real /proc: this very process is there under its own name
    own = Path(f"/proc/{os.getpid()}/comm").read_text().strip()
    assert facts.process_running([own]) is True


def test_memory_from_meminfo(tmp_path: Path) -> None:
    (tmp_path / "meminfo").write_text(
        "MemTotal:        8000000 kB\nMemFree:  1000 kB\nMemAvailable:    6000000 kB\n"
    )
    assert facts.memory(tmp_path) == {
        "total_bytes": 8_000_000 * 1024,
        "available_bytes": 6_000_000 * 1024,
    }
    (tmp_path / "meminfo").write_text("MemTotal: 100 kB\nMemFree: 10 kB\nCached: 20 kB\n")
    assert facts.memory(tmp_path) == {"total_bytes": 102400, "available_bytes": 30720}
    assert facts.memory(tmp_path / "none") is None


def test_vipnet_expiry_file_formats(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "status"
    path.write_text(
        "# ViPNet\nkeys_valid_until = 10.01.2027\ncertificate_valid_until: 2027-02-01\n"
    )
    assert facts.vipnet_expiry(path) == {
        "keys_valid_until": "2027-01-10",
        "certificate_valid_until": "2027-02-01",
    }
    path.write_text(json.dumps({"keys_valid_until": "завтра", "certificate_valid_until": None}))
    assert facts.vipnet_expiry(path) == {"keys_valid_until": None, "certificate_valid_until": None}
    assert "keys_valid_until не дата" in caplog.text
    assert facts.vipnet_expiry(tmp_path / "missing") == dict.fromkeys(facts.STATUS_KEYS)
    assert facts.vipnet_expiry(None) == dict.fromkeys(facts.STATUS_KEYS)


def test_unknown_service_is_unknown_not_stopped() -> None:
    assert facts.service_active("kontur-no-such-unit-7f3a") is None
    assert facts.service_active(None) is None
