"""Starts the whole stack on 127.0.0.1 and keeps it up until Ctrl-C or SIGTERM:
redis-server, the reference hall, the action server, the Rasa server and the gateway.

Used by `make run` and by the end-to-end tests (with other ports and a quick-trained model).
Every process runs in its own process group, so stopping the stack ends all of them.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JSON_LOGGING = ROOT / "ops" / "logging"      # JSON log configs of the Rasa and action servers


@dataclass
class Service:
    name: str
    argv: list[str]
    ready_url: str | None          # polled until it answers 200 (None: a redis PING instead)
    env: dict[str, str]
    proc: subprocess.Popen | None = None
    ready_text: str | None = None  # and, when set, until its answer contains this


def ports(base: int) -> dict[str, int]:
    """All ports from one base, so a test stack never meets a running `make run` stack."""
    if base == 0:   # the documented defaults
        return {"gateway": int(os.environ.get("ASSISTANT_PORT", 8080)), "rasa": 5005, "actions": 5055,
                "hall": 8090, "redis": 6390, "actions_metrics": 5056, **SMS_PORTS}
    return {"gateway": base, "rasa": base + 1, "actions": base + 2, "hall": base + 3, "redis": base + 4,
            **{name: base + 5 + i for i, name in enumerate(SMS_PORTS)}, "actions_metrics": base + 15}


# SMS: Kannel's admin, box and sendsms ports, the SMSC's SMPP port and its simulator's control port.
SMS_PORTS = {"kannel_admin": 13000, "kannel_smsbox": 13001, "kannel_sendsms": 13013, "smsc": 2775,
             "smsc_control": 2776}
# The embedded SMSC simulator stands in for the carrier unless SMSC_HOST names a real one.
EMBEDDED_SMSC = not os.environ.get("SMSC_HOST")


def stack_env(p: dict[str, int], var: Path, e5_model: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
        "ASSISTANT_PORT": str(p["gateway"]), "RASA_URL": f"http://127.0.0.1:{p['rasa']}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{p['actions']}", "HALL_URL": f"http://127.0.0.1:{p['hall']}", "HALL_PORT": str(p["hall"]),
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{p['actions']}/webhook",
        "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(p["redis"]), "REDIS_GATEWAY_DB": "0",
        "REDIS_TRACKER_DB": "1", "REDIS_LOCK_DB": "2", "TRACKER_TTL_SECONDS": env.get("TRACKER_TTL_SECONDS", str(180 * 86400)),
        "HALL_VAR": str(var), "HALL_E5_MODEL": e5_model, "SANIC_HOST": "127.0.0.1",
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ACTIONS_METRICS_PORT": str(p["actions_metrics"]),
    })
    env.setdefault("STAFF_DEV_ACCOUNTS", "1")     # the README's development accounts
    env.setdefault("RASA_TOKEN", "dev-rasa-token-change-me")
    env.update({"KANNEL_ADMIN_PORT": str(p["kannel_admin"]), "KANNEL_SMSBOX_PORT": str(p["kannel_smsbox"]),
                "KANNEL_SENDSMS_PORT": str(p["kannel_sendsms"]), "SMSC_CONTROL_PORT": str(p["smsc_control"])})
    if EMBEDDED_SMSC:
        env["SMSC_PORT"] = str(p["smsc"])
    return env


def services(args, p: dict[str, int], env: dict[str, str]) -> list[Service]:
    var = Path(args.var)
    (var / "redis").mkdir(parents=True, exist_ok=True)
    app_py, rasa_py = args.app_python, args.rasa_python
    return [
        Service("redis", ["redis-server", "--port", str(p["redis"]), "--bind", "127.0.0.1", "--dir", str(var / "redis"),
                          "--appendonly", "yes", "--save", "60 1", "--protected-mode", "yes"], None, env),
        Service("hall", [app_py, "-m", "hall"], f"http://127.0.0.1:{p['hall']}/healthz", env),
        Service("actions", [app_py, "-m", "rasa_sdk", "--actions", "actions", "-p", str(p["actions"]),
                            "--logging-config_file", str(JSON_LOGGING / "actions.yml")],   # rasa-sdk's spelling
                f"http://127.0.0.1:{p['actions']}/health", env),
        Service("rasa", [rasa_py, "-m", "rasa", "run", "--enable-api", "--auth-token", env["RASA_TOKEN"],
                         "-i", "127.0.0.1", "-p", str(p["rasa"]), "--endpoints", str(ROOT / "endpoints.yml"),
                         "--credentials", str(ROOT / "nlu" / "credentials.yml"), "-m", args.model,
                         "--logging-config-file", str(JSON_LOGGING / "rasa.yml")],
                f"http://127.0.0.1:{p['rasa']}/status?token={env['RASA_TOKEN']}", env),
        Service("gateway", [app_py, "-m", "assistant"], f"http://127.0.0.1:{p['gateway']}/healthz", env),
        *sms_services(args, p, env),
    ]


def sms_services(args, p: dict[str, int], env: dict[str, str]) -> list[Service]:
    """Kannel (bearerbox, smsbox) with a kannel.conf generated from the stack's env, and the
    embedded SMSC simulator it binds to over SMPP."""
    conf = Path(args.var) / "kannel" / "kannel.conf"
    subprocess.run([args.app_python, "-m", "channels.kannel_config", str(conf)], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    status = f"http://127.0.0.1:{p['kannel_admin']}/status.txt"
    smsc = Service("smsc", [args.app_python, str(ROOT / "tests" / "fakes" / "smsc_simulator.py"),
                            "--smpp-port", str(p["smsc"]), "--control-port", str(p["smsc_control"]),
                            "--system-id", env.get("SMSC_SYSTEM_ID", "hallsms"),
                            "--password", env.get("SMSC_PASSWORD", "dev-smpp")],
                   f"http://127.0.0.1:{p['smsc_control']}/healthz", env)
    # -v 4: only a panic on stderr; Kannel's own logs (warnings up) go to var/logs/kannel-*.log.
    # bearerbox is ready once bound to the embedded SMSC, smsbox once bearerbox lists it.
    return [*([smsc] if EMBEDDED_SMSC else []),
            Service("bearerbox", ["bearerbox", "-v", "4", str(conf)], status, env,
                    ready_text="(online" if EMBEDDED_SMSC else None),
            Service("smsbox", ["smsbox", "-v", "4", str(conf)], status, env, ready_text="smsbox:")]


def answers(svc: Service, port: int) -> bool:
    try:
        if svc.ready_url is None:
            out = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, timeout=2)
            return out.stdout.strip() == "PONG"
        with urllib.request.urlopen(svc.ready_url, timeout=2) as resp:
            return resp.status == 200 and (svc.ready_text is None
                                           or svc.ready_text in resp.read().decode(errors="replace"))
    except Exception:
        return False


def stop(started: list[Service]) -> None:
    for svc in reversed(started):
        if svc.proc and svc.proc.poll() is None:
            os.killpg(svc.proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for svc in reversed(started):
        if svc.proc:
            try:
                svc.proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(svc.proc.pid, signal.SIGKILL)
                svc.proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True, help="trained Rasa model (.tar.gz)")
    ap.add_argument("--e5-model", required=True, help="sentence-transformers folder of the retriever")
    ap.add_argument("--app-python", required=True)
    ap.add_argument("--rasa-python", required=True)
    ap.add_argument("--var", default=str(ROOT / "var"))
    ap.add_argument("--port-base", type=int, default=0, help="0 = the documented default ports")
    ap.add_argument("--timeout", type=float, default=600, help="seconds to wait for every service")
    args = ap.parse_args()

    p = ports(args.port_base)
    env = stack_env(p, Path(args.var), args.e5_model)
    logs = Path(args.var) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    started: list[Service] = []
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        all_services = services(args, p, env)
        by_name = {svc.name: svc for svc in all_services}
        # Started in waves; a wave is waited for before the next. Rasa and the action server
        # load their models in parallel, which is most of the start-up time.
        # Kannel's bearerbox binds to the SMSC; smsbox then connects to bearerbox.
        for wave in (["redis", "smsc"], ["hall", "actions", "rasa", "bearerbox"], ["smsbox", "gateway"]):
            for name in (n for n in wave if n in by_name):
                svc = by_name[name]
                log = open(logs / f"{name}.log", "ab")
                svc.proc = subprocess.Popen(svc.argv, env=svc.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
                started.append(svc)
                print(f"[stack] starting {name} (log: {logs / (name + '.log')})", flush=True)
            deadline = time.monotonic() + args.timeout
            for name in (n for n in wave if n in by_name):
                svc = by_name[name]
                while not answers(svc, p.get(name, 0)):
                    if stopping or svc.proc.poll() is not None or time.monotonic() > deadline:
                        why = "stopped" if stopping else f"{name} did not become ready; see its log"
                        print(f"[stack] {why}", flush=True)
                        return 1
                    time.sleep(0.5)
                print(f"[stack] {name} ready", flush=True)
        print(f"[stack] ready: web chat at http://127.0.0.1:{p['gateway']}/chat/ "
              f"(REST: POST http://127.0.0.1:{p['gateway']}/webhooks/rest/webhook); Ctrl-C stops everything", flush=True)
        if EMBEDDED_SMSC:
            print(f"[stack] SMS: text the assistant with curl -d '{{\"source_addr\": \"13800000000\", \"text\": "
                  f"\"居住证怎么办\"}}' http://127.0.0.1:{p['smsc_control']}/mo, read answers at "
                  f"http://127.0.0.1:{p['smsc_control']}/mt", flush=True)
        while not stopping:
            for svc in started:
                if svc.proc.poll() is not None:
                    print(f"[stack] {svc.name} exited with {svc.proc.returncode}; stopping the stack", flush=True)
                    return 1
            time.sleep(1)
        return 0
    finally:
        print("[stack] stopping", flush=True)
        stop(started)
        print("[stack] stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
