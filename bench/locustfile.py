"""make load's locust file: a live event's chat traffic, a step load, then an endurance run.

Runs in locust's own venv (.local/load), started by bench/load.py; it speaks only HTTP to the chat API
on 127.0.0.1 and uses nothing of the project but this file. Settings come from LOAD_* variables that
bench/load.py sets. Users have no think time (a closed loop): each step's throughput is what the
system under test serves at that concurrency.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from typing import Any

from locust import FastHttpUser, LoadTestShape, events, task
from locust.env import Environment

STEPS = [int(u) for u in os.environ.get("LOAD_STEPS", "2,4,8,16,32").split(",")]
STEP_S = float(os.environ.get("LOAD_STEP_S", "20"))
ENDURANCE_S = float(os.environ.get("LOAD_ENDURANCE_S", "180"))
P99_BOUND_MS = float(os.environ.get("LOAD_P99_MS", "1000"))
MAX_FAILURE_RATIO = float(os.environ.get("LOAD_MAX_FAILURES", "0.01"))
RUN = os.environ.get("LOAD_RUN", uuid.uuid4().hex[:8])
HOT_ROOM = f"live-{RUN}"
ROOMS = [HOT_ROOM] + [f"side-{RUN}-{i}" for i in range(4)]
RESULT_FILE = os.environ.get("LOAD_RESULT_FILE", "load-result.json")

# What the current step is, and what each step saw: (latency ms, failed) per request, acknowledged ids.
_current = {"name": "warm-up", "users": 0}
_samples: dict[str, list[tuple[float, bool]]] = {}
_acknowledged: dict[str, list[str]] = {room: [] for room in ROOMS}
_posts: dict[str, int] = {}
_steps: list[dict[str, Any]] = []


class Viewer(FastHttpUser):
    """A viewer of the live event: posts into the hot room (now and then a side room), reads latest."""

    @task(1)
    def post(self) -> None:
        room = HOT_ROOM if random.random() < 0.8 else random.choice(ROOMS[1:])  # noqa: S311 - load mix
        body = {"name": f"viewer{random.randrange(10_000)}", "comment": "what a goal!", "position": time.time() % 7200}  # noqa: S311
        with self.client.post(f"/rooms/{room}/comments", json=body, name="POST comment", catch_response=True) as reply:
            if reply.status_code == 201:
                _acknowledged[room].append(json.loads(reply.text)["id"])
                _posts[_current["name"]] = _posts.get(_current["name"], 0) + 1
                reply.success()
            else:
                reply.failure(f"{reply.status_code}: {reply.text[:200]}")

    @task(2)
    def latest(self) -> None:
        with self.client.get(f"/rooms/{HOT_ROOM}/comments", name="GET latest", catch_response=True) as reply:
            if reply.status_code == 200 and "comments" in reply.text:
                reply.success()
            else:
                reply.failure(f"{reply.status_code}: {reply.text[:200]}")


@events.request.add_listener
def _record(response_time: float, exception: BaseException | None, **_: Any) -> None:
    _samples.setdefault(_current["name"], []).append((response_time, exception is not None))


def _summary(name: str, users: int, seconds: float) -> dict[str, Any]:
    samples = _samples.get(name, [])
    latencies = sorted(ms for ms, _ in samples)

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, round(q * (len(latencies) - 1)))] if latencies else 0.0

    failures = sum(1 for _, failed in samples if failed)
    return {
        "name": name,
        "users": users,
        "seconds": seconds,
        "requests": len(samples),
        "failures": failures,
        "requests_per_s": len(samples) / seconds if seconds else 0.0,
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "posts": _posts.get(name, 0),
    }


class StepThenEndurance(LoadTestShape):
    """Steps of STEPS users, STEP_S each, until a step fails more than MAX_FAILURE_RATIO of its requests
    or its p99 passes P99_BOUND_MS; then ENDURANCE_S at the last step that held."""

    def __init__(self) -> None:
        super().__init__()
        self._index, self._started, self._held = 0, 0.0, STEPS[0]
        self._phase = "step"

    def _close(self, now: float) -> dict[str, Any]:
        summary = _summary(_current["name"], _current["users"], now - self._started)
        _steps.append(summary)
        print(
            f"load: {summary['name']}: {summary['users']} users, {summary['requests_per_s']:.0f} requests/s, "
            f"p50 {summary['p50_ms']:.0f} ms, p99 {summary['p99_ms']:.0f} ms, {summary['failures']} failures",
            flush=True,
        )
        return summary

    def _begin(self, name: str, users: int, now: float) -> None:
        _current.update(name=name, users=users)
        self._started = now

    def tick(self) -> tuple[int, float] | None:
        now = self.get_run_time()
        if _current["name"] == "warm-up":
            self._begin(f"step {STEPS[0]}", STEPS[0], now)
        elif self._phase == "step" and now - self._started >= STEP_S:
            summary = self._close(now)
            broken = summary["failures"] > MAX_FAILURE_RATIO * max(summary["requests"], 1)
            broken = broken or summary["p99_ms"] > P99_BOUND_MS
            if not broken:
                self._held = STEPS[self._index]
            self._index += 1
            if broken or self._index == len(STEPS):
                reason = "a bound was passed" if broken else "the last step held"
                print(f"load: stepping ends ({reason}); endurance at {self._held} users for {ENDURANCE_S:.0f} s")
                self._phase = "endurance"
                self._begin(f"endurance {self._held}", self._held, now)
            else:
                self._begin(f"step {STEPS[self._index]}", STEPS[self._index], now)
        elif self._phase == "endurance" and now - self._started >= ENDURANCE_S:
            self._close(now)
            return None
        users = int(_current["users"])
        return users, float(users)


@events.quitting.add_listener
def _write(environment: Environment, **_: Any) -> None:
    with open(RESULT_FILE, "w") as out:
        json.dump({"steps": _steps, "acknowledged": _acknowledged, "hot_room": HOT_ROOM, "rooms": ROOMS}, out)
