"""Shared fixtures. The end-to-end fixture starts the real stack with scripts/stack.py on its
own ports (base 18080) and a temporary state folder, once per test session."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.fakes import wechat_api

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
PORT_BASE = int(os.environ.get("HALL_TEST_PORT_BASE", "18080"))
CHROMIUM = "/usr/bin/chromium"          # Debian's Chromium; Playwright never downloads a browser here


def load_yaml(name: str):
    return yaml.safe_load((DATA / name).read_text(encoding="utf-8"))


def need_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the tests through `make test` (scripts/test.sh)")
    return value


class Stack:
    """A running stack and a small client for its REST channel."""

    def __init__(self, base: int, var: Path, proc: subprocess.Popen):
        self.base, self.var, self.proc = base, var, proc
        self.url = f"http://127.0.0.1:{base}"
        self.hall_url = f"http://127.0.0.1:{base + 3}"
        self.rasa_url = f"http://127.0.0.1:{base + 1}"
        self.redis_port = base + 4

    def post(self, path: str, body, raw: bytes | None = None, timeout: float = 60) -> tuple[int, object]:
        data = raw if raw is not None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def say(self, sender: str, message: str) -> list[dict]:
        status, replies = self.post("/webhooks/rest/webhook", {"sender": sender, "message": message})
        assert status == 200, replies
        return replies

    def get(self, url: str) -> tuple[int, object]:
        """(status, JSON body); status 0 when nothing listens there (yet)."""
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")
        except urllib.error.URLError:
            return 0, None


def reply_text(replies: list[dict]) -> str:
    return "\n".join((r.get("text") or "") + " " + " ".join(b["title"] for b in r.get("buttons") or [])
                     for r in replies)


def start_stack(tmp: Path, base: int) -> Stack:
    argv = [sys.executable, str(ROOT / "scripts" / "stack.py"), "--model", need_env("HALL_RASA_MODEL"),
            "--e5-model", need_env("HALL_E5_MODEL"), "--app-python", need_env("HALL_APP_PYTHON"),
            "--rasa-python", need_env("HALL_RASA_PYTHON"), "--var", str(tmp), "--port-base", str(base)]
    log = open(tmp / "stack.out", "w")
    # Staff desks always open in tests, whatever the hour the suite runs at.
    env = dict(os.environ, HANDOFF_HOURS=os.environ.get("HANDOFF_HOURS", "1-7 00:00-24:00"))
    env.update(wechat_api.gateway_env(base))    # the WeChat channel calls tests/fakes/wechat_api.py
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        text = (tmp / "stack.out").read_text()
        if "[stack] ready" in text:
            return Stack(base, tmp, proc)
        if proc.poll() is not None:
            break
        time.sleep(1)
    proc.terminate()
    logs = "\n".join(f"--- {p.name}\n" + p.read_text()[-3000:] for p in sorted((tmp / "logs").glob("*.log")))
    pytest.fail(f"stack did not start:\n{(tmp / 'stack.out').read_text()}\n{logs}")


@contextmanager
def extra_gateway(stack: Stack, port: int, **env: str):
    """Another gateway process on `port`, sharing the stack's Rasa, hall and Redis (as a second
    replica would, or the same gateway after a restart); yields a Stack talking to it."""
    full = dict(os.environ, PYTHONPATH=str(ROOT), ASSISTANT_PORT=str(port), RASA_URL=stack.rasa_url,
                HALL_URL=stack.hall_url, ACTION_SERVER_URL=f"http://127.0.0.1:{stack.base + 2}",
                REDIS_PORT=str(stack.redis_port), **env)
    proc = subprocess.Popen([sys.executable, "-m", "assistant"], env=full, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        other = Stack(stack.base, stack.var, stack.proc)
        other.url = f"http://127.0.0.1:{port}"
        for _ in range(120):
            if other.get(other.url + "/healthz")[0] == 200:
                break
            time.sleep(0.5)
        yield other
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def stop_stack(stack: Stack) -> None:
    stack.proc.terminate()
    try:
        stack.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        stack.proc.kill()


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Stack:
    s = start_stack(tmp_path_factory.mktemp("stack"), PORT_BASE)
    yield s
    stop_stack(s)


@pytest.fixture(scope="module")
async def browser():
    """Debian's Chromium driven by Playwright, one per test module."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        # --no-sandbox: the tests run as root, where Chromium's sandbox cannot start.
        b = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        await b.close()
