"""`make load`: the chat API under a live event's load, on 127.0.0.1 only; writes reports/load-DATE.{md,json,png}.

LOAD_TARGET=handler (default): the API handler behind gunicorn (LOAD_WORKERS sync workers, one request at
a time each, as Lambda environments), DynamoDB Local and moto, with the stream consumer's handler fed
from the table's stream by a poller (as Lambda's event source mapping would), so latest views and counts
are kept during the run. LOAD_TARGET=sandbox: the sandbox stage deployed on LocalStack (make local-setup;
hold the machine's LocalStack lock around the run). Locust (its own venv, .local/load) runs a step load
(LOAD_STEPS users, LOAD_STEP_S each) until failures pass LOAD_MAX_FAILURES or p99 passes LOAD_P99_MS,
then LOAD_ENDURANCE_S at the last step that held. Afterwards every acknowledged comment must be read back
exactly once through the API, and the hot room's latest and count must match what it stores.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bench import plots
from shared.bundles import bundle_dir
from tests.support.chat_backend import ChatBackend, local_chat
from tests.support.servers import free_port, stop_process
from tests.support.synth import ROOT, Synthesized, read_assembly

REPORTS = ROOT / "reports"
LOAD = ROOT / ".local" / "load"
LOCUST = LOAD / "bin" / "locust"
DEFAULTS = {
    "LOAD_TARGET": "handler",
    "LOAD_WORKERS": "4",
    "LOAD_STEPS": "1,2,4,8,16,32,64",
    "LOAD_STEP_S": "20",
    "LOAD_ENDURANCE_S": "180",
    "LOAD_P99_MS": "1000",
    "LOAD_MAX_FAILURES": "0.01",
}
MAX_USERS = 256


def setting(name: str) -> str:
    return os.environ.get(name, DEFAULTS[name])


def _loopback(url: str) -> None:
    host = urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"make load: refusing to load {host!r}: only 127.0.0.1 is allowed")


class StreamPoller(threading.Thread):
    """Reads every shard of the comments table's stream and hands the records to the consumer's handler,
    in batches of up to 1,000, as Lambda's event source mapping does for the deployed function."""

    def __init__(self, chat: ChatBackend) -> None:
        super().__init__(daemon=True)
        self._chat = chat
        self._arn = chat.stream_arn()
        self._iterators: dict[str, str | None] = {}
        self._stop = threading.Event()
        self.records = 0
        self.idle = threading.Event()
        self.error: BaseException | None = None
        self._refresh("LATEST")

    def _refresh(self, position: str) -> None:
        shards = self._chat.streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        for shard in shards:
            if shard["ShardId"] not in self._iterators:
                self._iterators[shard["ShardId"]] = self._chat.streams.get_shard_iterator(
                    StreamArn=self._arn, ShardId=shard["ShardId"], ShardIteratorType=position
                )["ShardIterator"]

    def run(self) -> None:
        last_refresh = time.monotonic()
        try:
            while not self._stop.is_set():
                if time.monotonic() - last_refresh > 5:
                    self._refresh("TRIM_HORIZON")
                    last_refresh = time.monotonic()
                got = 0
                for shard, iterator in list(self._iterators.items()):
                    if iterator is None:
                        continue
                    response = self._chat.streams.get_records(ShardIterator=iterator, Limit=1_000)
                    self._iterators[shard] = response.get("NextShardIterator")
                    records = response["Records"]
                    if records:
                        result = self._chat.consume(records).result
                        assert result == {"batchItemFailures": []}, result
                        got += len(records)
                self.records += got
                if got:
                    self.idle.clear()
                else:
                    self.idle.set()
                    time.sleep(0.2)
        except BaseException as error:  # reported by the run, not lost in a thread
            self.error = error
            self.idle.set()

    def drain(self, timeout_s: float = 120) -> None:
        """Wait until a whole pass over the shards found nothing new."""
        deadline = time.monotonic() + timeout_s
        time.sleep(1.5)  # let the last writes reach the stream
        self.idle.clear()
        while not self.idle.wait(timeout=1) and time.monotonic() < deadline:
            pass
        if self.error:
            raise RuntimeError("the stream consumer failed during the load") from self.error

    def stop(self) -> None:
        self._stop.set()
        self.join(timeout=10)


@contextmanager
def _handler_target(synth: Synthesized) -> Iterator[tuple[str, StreamPoller | None]]:
    """The handler behind gunicorn on a free loopback port (with the API function's environment as the handler
    tests give it; gunicorn itself needs the venv), its stream consumer, as deployed, fed by a poller."""
    LOAD.mkdir(parents=True, exist_ok=True)
    with local_chat(synth, "sandbox/Chat") as chat:
        port = free_port()
        function_env = {k: v for k, v in chat.api.environment.variables().items() if k != "PATH"}
        env = {
            **os.environ,
            **function_env,
            "PYTHONPATH": os.pathsep.join([str(bundle_dir("chat_api")), str(ROOT)]),
        }
        gunicorn = Path(sys.executable).with_name("gunicorn")
        argv = [str(gunicorn), "-w", setting("LOAD_WORKERS"), "-b", f"127.0.0.1:{port}", "--chdir", str(ROOT)]
        argv += ["--log-level", "warning", "--timeout", "30", "bench.http_front:app"]
        with open(LOAD / "front.log", "wb") as log:
            front = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_for_port(port, front)
            poller = StreamPoller(chat)
            poller.start()
            try:
                yield f"http://127.0.0.1:{port}", poller
            finally:
                poller.stop()
        finally:
            stop_process(front, timeout_s=20)


@contextmanager
def _sandbox_target() -> Iterator[tuple[str, StreamPoller | None]]:
    """The sandbox stage on LocalStack (started and stopped here unless `make local-up` runs it)."""
    from tools.local_sandbox import deploy, runtime

    started = runtime.running_pid() is None
    if started:
        runtime.start()
    try:
        results = {r.name: r for r in deploy.deploy("sandbox")}
        chat = results["sandbox/Chat"]
        if chat.status != "deployed":
            raise SystemExit(f"make load: sandbox/Chat did not deploy:\n{chat.error}")
        yield chat.outputs["ApiUrl"].rstrip("/"), None
    finally:
        if started:
            runtime.stop()


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the HTTP front exited; see {LOAD / 'front.log'}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"the HTTP front did not listen on 127.0.0.1:{port} within {timeout_s:.0f} s")


def _get(base: str, path: str) -> Any:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{base}{path}", timeout=60) as reply:  # loopback only (checked)
        return json.loads(reply.read())


def read_back(base: str, room: str) -> list[dict[str, Any]]:
    """Every comment of `room` through `?all=true` pages, following cursors (bounded)."""
    comments: list[dict[str, Any]] = []
    path = f"/rooms/{room}/comments?all=true&limit=100"
    for _ in range(100_000):
        body = _get(base, path)
        comments += body["comments"]
        if not body["next"]:
            return comments
        path = f"/rooms/{room}/comments?all=true&limit=100&cursor={body['next']}"
    raise RuntimeError(f"reading back room {room} did not end")


def verify(base: str, result: dict[str, Any], poller: StreamPoller | None) -> dict[str, Any]:
    """Every acknowledged comment read back exactly once; the hot room's latest and count agree."""
    if poller is not None:
        poller.drain()
    checks: dict[str, Any] = {"rooms": {}}
    for room, acknowledged in result["acknowledged"].items():
        stored = read_back(base, room)
        counts = Counter(c["id"] for c in stored)
        checks["rooms"][room] = {
            "acknowledged": len(acknowledged),
            "stored": len(stored),
            "acknowledged_missing": len(set(acknowledged) - set(counts)),
            "read_twice": sum(1 for n in counts.values() if n > 1),
            "stored_not_acknowledged": len(set(counts) - set(acknowledged)),
        }
    hot = result["hot_room"]
    newest = [c["id"] for c in read_back(base, hot)[:25]]
    deadline = time.monotonic() + 60
    while True:  # the count and the view follow the stream; on LocalStack its consumer runs on its own
        latest = [c["id"] for c in _get(base, f"/rooms/{hot}/comments")["comments"]]
        count = _get(base, f"/rooms/{hot}/stats")["comment_count"]
        if (latest == newest and count == checks["rooms"][hot]["stored"]) or time.monotonic() > deadline:
            break
        time.sleep(2)
    checks["hot_room_latest_matches_index"] = latest == newest
    checks["hot_room_count_matches_stored"] = count == checks["rooms"][hot]["stored"]
    checks["every_acknowledged_once"] = all(
        r["acknowledged_missing"] == 0 and r["read_twice"] == 0 for r in checks["rooms"].values()
    )
    return checks


def run_locust(base: str, result_file: Path) -> None:
    if not LOCUST.exists():
        raise SystemExit("make load: locust is not installed; run `make load` (it installs .local/load)")
    steps = [min(int(u), MAX_USERS) for u in setting("LOAD_STEPS").split(",")]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        **{k: setting(k) for k in DEFAULTS},
        "LOAD_STEPS": ",".join(str(u) for u in steps),
        "LOAD_RUN": uuid.uuid4().hex[:8],
        "LOAD_RESULT_FILE": str(result_file),
        "NO_PROXY": "127.0.0.1,localhost",
    }
    bound_s = len(steps) * float(setting("LOAD_STEP_S")) + float(setting("LOAD_ENDURANCE_S")) + 120
    argv = [str(LOCUST), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "--host", base]
    argv += ["--stop-timeout", "10", "--loglevel", "WARNING"]
    subprocess.run(argv, env=env, check=False, timeout=bound_s)
    if not result_file.exists():
        raise RuntimeError("locust wrote no result")


def report(result: dict[str, Any], checks: dict[str, Any], target: str, started: float) -> Path:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    steps = result["steps"]
    plot = f"load-{today}.png"
    ramp = [s for s in steps if s["name"].startswith("step")]
    plots.load_curve(ramp or steps, REPORTS / plot, float(setting("LOAD_P99_MS")))
    what = (
        f"the API handler behind gunicorn ({setting('LOAD_WORKERS')} sync workers, one request at a time each), "
        "DynamoDB Local and moto on 127.0.0.1, the stream consumer's handler fed by a poller"
        if target == "handler"
        else "the sandbox stage deployed on LocalStack on 127.0.0.1 (API Gateway -> Lambda host processes -> "
        "DynamoDB Local, the stream consumer run by LocalStack's event source mapping)"
    )
    best = max(ramp or steps, key=lambda s: s["requests_per_s"])
    held = [s for s in ramp if s["failures"] <= float(setting("LOAD_MAX_FAILURES")) * max(s["requests"], 1)]
    held = [s for s in held if s["p99_ms"] <= float(setting("LOAD_P99_MS"))]
    data = {
        "date": today,
        "target": target,
        "machine": {"cpus": os.cpu_count(), "load_average_end": os.getloadavg()},
        "settings": {k: setting(k) for k in DEFAULTS},
        "how": (
            f"How measured: locust (headless, FastHttpUser, no think time) against {what}. Each user posts a "
            "comment (80% into one hot room, the rest into four side rooms) or reads the hot room's latest "
            f"(1:2). Steps of {setting('LOAD_STEPS')} users, {setting('LOAD_STEP_S')} s each, until a step "
            f"fails more than {float(setting('LOAD_MAX_FAILURES')):.0%} of its requests or its p99 passes "
            f"{setting('LOAD_P99_MS')} ms; then {setting('LOAD_ENDURANCE_S')} s at the last step that held. "
            "Afterwards every room is read back through `?all=true` pages of the same API. "
            f"Run took {time.time() - started:.0f} s on {os.cpu_count()} CPUs (load average at the end "
            f"{os.getloadavg()[0]:.1f}; the load generator, the front, DynamoDB Local and the consumer share them)."
        ),
        "steps": steps,
        "checks": checks,
        "best_step": best["name"],
        "summary": (
            f"Highest throughput: {best['requests_per_s']:,.0f} requests/s at {best['users']} users "
            f"(p50 {best['p50_ms']:.0f} ms, p99 {best['p99_ms']:.0f} ms). "
            f"Last step inside the bounds: {held[-1]['name'] if held else 'none'}. "
            f"Every acknowledged comment read back exactly once: {checks['every_acknowledged_once']} "
            f"({sum(r['acknowledged'] for r in checks['rooms'].values()):,} acknowledged; "
            f"{sum(r['stored_not_acknowledged'] for r in checks['rooms'].values())} stored without an "
            "acknowledgement, e.g. a request the client gave up on). Hot room's latest equals its index: "
            f"{checks['hot_room_latest_matches_index']}; its count equals what it stores: "
            f"{checks['hot_room_count_matches_stored']}."
        ),
        "plot": plot,
    }
    (REPORTS / f"load-{today}.json").write_text(json.dumps(data, indent=2) + "\n")
    from bench.markdown import load_section

    md = REPORTS / f"load-{today}.md"
    md.write_text(f"# Load test {today}\n\n" + "\n".join(load_section(data)) + "\n")
    return md


def main() -> None:
    target = setting("LOAD_TARGET")
    if target not in ("handler", "sandbox"):
        raise SystemExit(f"make load: LOAD_TARGET must be handler or sandbox, got {target!r}")
    started = time.time()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    REPORTS.mkdir(exist_ok=True)
    LOAD.mkdir(parents=True, exist_ok=True)
    result_file = LOAD / "result.json"
    result_file.unlink(missing_ok=True)
    cm = _handler_target(read_assembly(ROOT / "cdk.out")) if target == "handler" else _sandbox_target()
    with cm as (base, poller):
        _loopback(base)
        print(f"make load: {target} at {base}", file=sys.stderr, flush=True)
        run_locust(base, result_file)
        result = json.loads(result_file.read_text())
        checks = verify(base, result, poller)
    md = report(result, checks, target, started)
    print(f"make load: wrote {md.relative_to(ROOT)} (.json, .png)", file=sys.stderr)
    if not checks["every_acknowledged_once"]:
        raise SystemExit("make load: an acknowledged comment was lost or read twice (see the report)")


if __name__ == "__main__":
    main()
