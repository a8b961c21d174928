"""The writers of the concurrency test: processes of their own, as Lambda containers are.

They fork from one fresh interpreter that has imported boto3, Powertools and pydantic (what a warm Lambda
runtime has loaded), instead of each importing them again: 20 interpreters importing them cost more than
their 1,000 requests. Each writer imports the handler itself, after its environment is set, and so has its
own module state, clients and connections.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from multiprocessing.connection import Connection
from typing import Any

from tests.support.events import FakeLambdaContext, rest_event


def write_concurrently(env: dict[str, str], room: str, writers: int, per_writer: int) -> list[list[str]]:
    """Run `writers` processes at once, each posting `per_writer` comments; the ids each got acknowledged."""
    spawn = multiprocessing.get_context("spawn")
    receive, send = spawn.Pipe(duplex=False)
    template = spawn.Process(target=_fork_writers, args=(send, env, room, writers, per_writer))
    template.start()
    send.close()
    try:
        results: list[list[str]] = receive.recv()
    finally:
        template.join(timeout=60)
    if template.exitcode != 0:
        raise RuntimeError(f"the writers' parent process exited with {template.exitcode}")
    return results


def _fork_writers(send: Connection, env: dict[str, str], room: str, writers: int, per_writer: int) -> None:
    import aws_lambda_powertools.event_handler
    import aws_lambda_powertools.utilities.idempotency
    import aws_lambda_powertools.utilities.parameters  # noqa: F401
    import boto3
    import pydantic  # noqa: F401

    # botocore caches the service models per session: read once here, as a warm container has them.
    for service in ("dynamodb", "secretsmanager"):
        boto3.client(service, region_name=env.get("AWS_DEFAULT_REGION", "eu-west-1"))
    with multiprocessing.get_context("fork").Pool(writers) as pool:  # forks before Pool starts its threads
        send.send(pool.map(_write, [(env, room, w, per_writer) for w in range(writers)], chunksize=1))


def _write(args: tuple[dict[str, str], str, int, int]) -> list[str]:
    env, room, writer, count = args
    os.environ.update(env)
    from chat_api.handler import handler  # this process's own module, clients and connections

    acknowledged = []
    for i in range(count):
        body: dict[str, Any] = {"name": f"writer{writer}", "comment": f"comment {i}", "position": i}
        response = handler(rest_event("POST", "/rooms/{room}/comments", {"room": room}, body=body), FakeLambdaContext())
        if response["statusCode"] == 201:
            acknowledged.append(json.loads(response["body"])["id"])
    return acknowledged
