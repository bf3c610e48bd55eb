"""Drives N concurrent simulated citizen conversations through the gateway's REST channel and,
as the baseline, straight into Rasa's own REST webhook; prints turns/s, latency percentiles and
the peak memory of every process of the stack.

Two load shapes: closed loop (each conversation sends its next message as soon as the reply
arrives: the capacity) and paced (each citizen pauses --think seconds between messages, as
people do: the latency a citizen sees at that load)."""
from __future__ import annotations

import argparse
import asyncio
import random
import threading
import time
import uuid
from pathlib import Path

import aiohttp
import numpy as np
import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
FOLLOW_UPS = ["要带什么材料", "在哪里办", "要多久", "收费吗", "谢谢"]


def scripts(n: int, turns: int, seed: int = 7) -> list[list[str]]:
    questions = [q["q"] for q in yaml.safe_load((ROOT / "tests/data/service_questions.yml").read_text("utf-8"))]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        convo = ["你好", rng.choice(questions)]
        while len(convo) < turns:
            convo.append(rng.choice(FOLLOW_UPS + questions[:10]))
        out.append(convo)
    return out


class MemorySampler(threading.Thread):
    def __init__(self, root_pid: int):
        super().__init__(daemon=True)
        self.root = psutil.Process(root_pid)
        self.peak: dict[str, int] = {}
        self.stopped = threading.Event()

    @staticmethod
    def label(p: psutil.Process) -> str:
        cmd = " ".join(p.cmdline())
        for key, name in (("redis-server", "redis"), ("rasa run", "rasa"), ("rasa_sdk", "actions"),
                          ("-m hall", "hall"), ("-m assistant", "gateway")):
            if key in cmd:
                return name
        return ""

    def run(self) -> None:
        while not self.stopped.is_set():
            for p in self.root.children(recursive=True):
                try:
                    name = self.label(p)
                    if name:
                        self.peak[name] = max(self.peak.get(name, 0), p.memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(0.5)


async def run_load(url: str, convos: list[list[str]], think: float) -> tuple[list[float], float]:
    latencies: list[float] = []
    errors = 0

    async def one(http: aiohttp.ClientSession, convo: list[str]) -> None:
        nonlocal errors
        sender = "bench-" + uuid.uuid4().hex[:10]
        await asyncio.sleep(random.random() * think)       # citizens do not all start at once
        for message in convo:
            started = time.perf_counter()
            async with http.post(url, json={"sender": sender, "message": message}) as resp:
                await resp.read()
                errors += resp.status != 200
            latencies.append(time.perf_counter() - started)
            if think:
                await asyncio.sleep(think * random.uniform(0.5, 1.5))

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        started = time.perf_counter()
        await asyncio.gather(*(one(http, c) for c in convos))
        wall = time.perf_counter() - started
    if errors:
        print(f"  !! {errors} non-200 answers")
    return latencies, wall


def line(name: str, lat: list[float], wall: float) -> str:
    ms = np.array(lat) * 1000
    return (f"{name:34s} {len(lat):5d} turns  {len(lat) / wall:6.1f} turns/s  p50 {np.percentile(ms, 50):7.1f} ms  "
            f"p95 {np.percentile(ms, 95):7.1f} ms  p99 {np.percentile(ms, 99):7.1f} ms")


async def main_async(args) -> None:
    convos = scripts(args.conversations, args.turns)
    targets = {"gateway REST": f"{args.gateway}/webhooks/rest/webhook",
               "rasa REST (baseline)": f"{args.rasa}/webhooks/rest/webhook"}
    sampler = MemorySampler(args.stack_pid) if args.stack_pid else None
    if sampler:
        sampler.start()
    await run_load(targets["gateway REST"], scripts(2, 3, seed=1), 0)      # warm-up
    print(f"{args.conversations} concurrent conversations x {args.turns} turns")
    for shape, think in (("closed loop", 0.0), (f"paced {args.think:g}s", args.think)):
        for name, url in targets.items():
            lat, wall = await run_load(url, convos, think)
            print(line(f"{name}, {shape}", lat, wall))
    if sampler:
        sampler.stopped.set()
        print("peak resident memory: " + ", ".join(f"{k} {v / 2**20:.0f} MB" for k, v in sorted(sampler.peak.items())))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--gateway", default="http://127.0.0.1:8080")
    ap.add_argument("--rasa", default="http://127.0.0.1:5005")
    ap.add_argument("--conversations", type=int, default=20)
    ap.add_argument("--turns", type=int, default=6)
    ap.add_argument("--think", type=float, default=3.0, help="seconds a citizen pauses between messages (paced)")
    ap.add_argument("--stack-pid", type=int, default=0, help="pid of scripts/stack.py, for memory figures")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
