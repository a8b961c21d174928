"""SnapStart's snapshot and restore, emulated with fork(): the handler's runtime hooks against DynamoDB Local.

SnapStart runs a version's initialization once, snapshots the memory of that environment and resumes every
new environment from the same snapshot (https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html). A
forked child starts from a copy of its parent's memory in the same way, so a fresh interpreter imports the
handler as Lambda's init does, runs the before-snapshot hooks as the runtime client does (awslambdaric's
lambda_runtime_hooks_runner: in reverse order of registration), forks two "restored environments" that run
the after-restore hooks (in order) and serve requests, and reports what each saw. (Python's own at-fork
re-seed of the random module is undone in each child: a restored microVM gets no such call.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any
from urllib.parse import urlparse

import pytest

from shared.bundles import bundle_dir
from tests.support import lambda_packages
from tests.support.chat_backend import ChatBackend
from tests.support.synth import ROOT

BUNDLE = bundle_dir("chat_api")
_EMULATION = r"""
import json, os, random, sys
import snapshot_restore_py
from chat_api import handler, models
from chat_api.domain import new_id
from tests.support.events import FakeLambdaContext, rest_event

room, ports = sys.argv[1], {int(p) for p in sys.argv[2].split(",")}

def connections():
    '''Established TCP connections of this process to the local DynamoDB and Secrets Manager.'''
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and fields[9] in inodes and int(fields[2].rsplit(":", 1)[1], 16) in ports:
                count += 1
    return count

def call(method, query=None, body=None, headers=None):
    event = rest_event(method, "/rooms/{room}/comments", {"room": room}, query=query, body=body, headers=headers)
    return handler.handler(event, FakeLambdaContext())

# Initialization that used the network: a listing and a paged listing (the cursor key is fetched).
assert call("GET")["statusCode"] == 200
assert call("GET", {"all": "true", "limit": "1"})["statusCode"] == 200
called = sorted(r.func.__name__ for r in handler.app()._dynamic_routes if r.request_param_name_checked)
before = {"connections": connections(), "keys_cached": handler.cursor_codec.cache_info().currsize}
before["routes_called"] = called
calls, made, sent = [], [], []
handler._dynamodb.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
# Every call made in the process, answered there or not, and what reached the wire (botocore's last event).
handler._dynamodb.meta.events.register("before-parameter-build", lambda model, **_: made.append(model.name))
handler._dynamodb.meta.events.register("before-send", lambda request, **_: sent.append(request.url))
while snapshot_restore_py.get_before_snapshot():
    hook, args, kwargs = snapshot_restore_py.get_before_snapshot().pop()
    hook(*args, **kwargs)
snapshot = {
    "connections": connections(),
    "keys_cached": handler.cursor_codec.cache_info().currsize,
    "secrets_cached": len(handler.secrets().store),
    "idempotency_built": handler.idempotency.cache_info().currsize,
    "models_built": all(m.__pydantic_complete__ for m in models.REQUEST_MODELS),
    "routes_called": sorted(r.func.__name__ for r in handler.app()._dynamic_routes if r.request_param_name_checked),
    "aws_calls": calls,
    "calls_made": made,
    "requests_sent": sent,
}
# fork() re-seeds the random module in the child (os.register_at_fork); a restored microVM is not told, so
# each child starts from the snapshot's state, as a restored environment does.
state = random.getstate()
children = []
for n in range(2):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a restored environment
        os.close(read)
        random.setstate(state)
        for hook, args, kwargs in snapshot_restore_py.get_after_restore():
            hook(*args, **kwargs)
        seen = {
            "random": [random.random() for _ in range(3)],
            "id": new_id(),
            "get": call("GET")["statusCode"],
            "post": call("POST", body={"name": "snap", "comment": f"restored {n}", "position": n},
                         headers={"Idempotency-Key": f"restore-{n}"})["statusCode"],
            "paged": call("GET", {"all": "true", "limit": "1"})["statusCode"],
        }
        os.write(write, json.dumps(seen).encode())
        os._exit(0)
    os.close(write)
    children.append((pid, read))
restored = []
for pid, read in children:
    with os.fdopen(read) as pipe:
        restored.append(json.loads(pipe.read()))
    assert os.waitpid(pid, 0)[1] == 0
print(json.dumps({"before": before, "snapshot": snapshot, "restored": restored}))
"""


@pytest.fixture(scope="module")
def emulated(chat: ChatBackend) -> dict[str, Any]:
    """What the init, the snapshot and two restored environments saw (one run for the module's tests): the API
    function's environment as deployed, and only the packages Lambda provides importable (`-S`)."""
    room = "snapstart-room"
    for position in (0, 1):  # two comments: a page of one has a next cursor, so the signing key is fetched
        assert chat.post(room, "snap", "before the snapshot", position)[0] == 201
    env = chat.api.environment.variables()
    ports = [urlparse(env[k]).port for k in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SECRETS_MANAGER")]
    paths = lambda_packages.import_path(BUNDLE, [lambda_packages.POWERTOOLS_LAYER])
    env = {**env, "PYTHONPATH": os.pathsep.join([*paths, str(ROOT)]), "POWERTOOLS_TRACE_DISABLED": "true"}
    done = subprocess.run(
        [sys.executable, "-S", "-c", _EMULATION, room, ",".join(str(p) for p in ports)],
        env=env,
        cwd=BUNDLE,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_no_connection_and_no_signing_key_go_into_the_snapshot(emulated: dict[str, Any]) -> None:
    assert emulated["before"]["connections"] >= 1 and emulated["before"]["keys_cached"] == 1  # there was some
    assert emulated["snapshot"]["connections"] == 0
    assert (emulated["snapshot"]["keys_cached"], emulated["snapshot"]["secrets_cached"]) == (0, 0)


def test_what_a_first_request_would_build_is_in_the_snapshot(emulated: dict[str, Any]) -> None:
    assert emulated["snapshot"]["idempotency_built"] == 1
    assert emulated["snapshot"]["models_built"] is True
    assert emulated["before"]["routes_called"] == ["list_room"]  # what init itself had served
    # Each route has been through its first call (Powertools inspects the handler then)...
    assert emulated["snapshot"]["routes_called"] == ["list_room", "list_user", "post_comment", "room_stats"]
    # ...with a request it refuses before any AWS call: publishing a version reads and writes nothing.
    assert emulated["snapshot"]["aws_calls"] == []


def test_the_read_path_is_primed_without_a_request(emulated: dict[str, Any]) -> None:
    """before_snapshot makes a "latest" read's calls (the view's GetItem, then the index's Query: sandbox has one
    shard), each answered in the process: botocore's per-operation work is in the snapshot, no request was sent."""
    assert emulated["snapshot"]["calls_made"] == ["GetItem", "Query"]
    assert emulated["snapshot"]["requests_sent"] == []


def test_restored_environments_serve_every_kind_of_request(emulated: dict[str, Any]) -> None:
    for seen in emulated["restored"]:
        assert (seen["get"], seen["post"], seen["paged"]) == (200, 201, 200)


def test_restored_environments_draw_their_own_random_numbers_and_ids(emulated: dict[str, Any]) -> None:
    first, second = emulated["restored"]
    assert first["random"] != second["random"]  # the random module's state was in the snapshot
    assert first["id"] != second["id"]
