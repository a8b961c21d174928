"""The edge stack's cache publisher function (edge/runtime/edge_cache, `edge_cache.publisher.handler`) run as deployed
(tests/support/lambda_worker.py) against local stand-ins, sent the events its state machine sends it.

How the template's references resolve here:
- `CACHE_BUCKET` (Ref of the cache bucket): a bucket of the same logical id in moto's S3, one per backend; every
  bucket of the template gets one, so the role's grants resolve to their ARNs (arn:aws:s3:::<name>).
- `ORIGIN_URL` (the scheme, then the web stack's output of its internal load balancer's DNS name, read through
  Fn::GetStackOutput): the web stack's own template resolves the output (Fn::GetAtt of the load balancer's
  DNSName), and the load balancer's stand-in DNS name is the local origin's host:port
  (tests/support/web_origin.py). So ORIGIN_URL is `http://127.0.0.1:<port>` in the shipped stages, and
  `https://...` where the web service speaks HTTPS, as the template composes it.
- `ORIGIN_TLS_NAME`, `FETCH_TIMEOUT_S` and the Powertools settings are literals in the template.
The function reaches moto's S3 through AWS_ENDPOINT_URL_S3 (the worker's one transport variable).

Events come from the synthesized state machine (tests/support/stepfunctions.py `task_events`): a test gives the
execution's input ({"paths": [...]}, what a user starts it with) and gets what each of the definition's states
that invoke the function would send it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quality.readiness.template import stack_outputs
from tests.support.lambda_environment import DeployedFunction, Resolver, deployed_function
from tests.support.lambda_worker import Invocation, LambdaWorker
from tests.support.servers import local_client, moto_server
from tests.support.stepfunctions import Definition, State, definitions, invoking, task_events
from tests.support.synth import Synthesized, resources_of_type
from tests.support.web_origin import LocalOrigin, web_origin

HANDLER = "edge_cache.publisher.handler"
CACHE_BUCKET = "StorageCacheEC0123D0"  # the cache bucket's logical id (pinned by tests/edge)


@dataclass
class PublisherStandIns:
    """What the publisher's references resolve to, without a worker: a resolver and the emulators' endpoints."""

    function: DeployedFunction
    resolver: Resolver
    endpoints: dict[str, str]
    origin: LocalOrigin
    s3: Any
    buckets: dict[str, str]  # logical id -> local bucket name


@contextmanager
def publisher_stand_ins(synth: Synthesized, stack: str, origin: LocalOrigin) -> Iterator[PublisherStandIns]:
    """moto's S3 with the template's buckets; `origin` stands for the web stack's load balancer."""
    template, region = synth.templates[stack], synth.regions[stack]
    function = deployed_function(synth, stack, HANDLER)
    with moto_server() as moto:
        s3 = local_client("s3", moto, region)
        buckets: dict[str, str] = {}
        resources: dict[str, dict[str, str]] = {}
        for logical_id in resources_of_type(template, "AWS::S3::Bucket"):
            buckets[logical_id] = f"{logical_id.lower()[:40]}-{uuid.uuid4().hex[:8]}"
            s3.create_bucket(Bucket=buckets[logical_id], CreateBucketConfiguration={"LocationConstraint": region})
            resources[logical_id] = {"Ref": buckets[logical_id], "Arn": f"arn:aws:s3:::{buckets[logical_id]}"}
        stacks = {
            name: _web_resolver(synth, name, origin) for name, _ in stack_outputs(function.properties["Environment"])
        }
        resolver = Resolver(template, region, resources, stacks=stacks)
        yield PublisherStandIns(function, resolver, {"s3": moto}, origin, s3, buckets)


def _web_resolver(synth: Synthesized, stack_name: str, origin: LocalOrigin) -> Resolver:
    """The web stack's resolver: its (one) load balancer's DNS name is the local origin's address."""
    (key,) = [key for key, name in synth.stack_names.items() if name == stack_name]
    template = synth.templates[key]
    (balancer,) = resources_of_type(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    return Resolver(template, synth.regions[key], {balancer: {"DNSName": origin.address}})


@dataclass
class PublisherBackend:
    """The publisher as deployed, its stand-ins, and the state machine that invokes it."""

    worker: LambdaWorker
    stand_ins: PublisherStandIns
    definition: Definition

    @property
    def origin(self) -> LocalOrigin:
        return self.stand_ins.origin

    @property
    def bucket(self) -> str:
        return self.stand_ins.buckets[CACHE_BUCKET]

    def task(self, name: str) -> State:
        """The definition's Task state `name` that invokes the function."""
        (state,) = [s for s in invoking(self.definition, self.worker.function.logical_id) if s.name == name]
        return state

    def events(self, paths: Any) -> dict[str, list[Any]]:
        """What each state that invokes the function sends it in an execution started with {"paths": paths}."""
        return task_events(self.definition, self.worker.function.logical_id, {"paths": paths})

    def validate(self, paths: Any, **kw: Any) -> Invocation:
        """The state machine's path check, as its ValidatePaths state sends it."""
        (event,) = self.events(paths)["ValidatePaths"]
        return self.worker.invoke(event, **kw)

    def publish(self, path: str, **kw: Any) -> Invocation:
        """The fetch-and-store of one path, as its FetchAndStorePage state sends it."""
        (event,) = self.events([path])["FetchAndStorePage"]
        return self.worker.invoke(event, **kw)

    def stored(self, key: str) -> dict[str, Any]:
        return self.stand_ins.s3.get_object(Bucket=self.bucket, Key=key)  # type: ignore[no-any-return]

    def stored_keys(self) -> list[str]:
        return [o["Key"] for o in self.stand_ins.s3.list_objects_v2(Bucket=self.bucket).get("Contents", [])]


@contextmanager
def local_publisher(
    synth: Synthesized, stack: str = "sandbox/Edge", *, certificate: tuple[Path, Path] | None = None
) -> Iterator[PublisherBackend]:
    """The publisher of `stack` with its stand-ins; one worker process for as long as the block lasts."""
    (definition,) = definitions(synth.templates[stack])
    with ExitStack() as running:
        origin = running.enter_context(web_origin(certificate=certificate))
        stand_ins = running.enter_context(publisher_stand_ins(synth, stack, origin))
        worker = LambdaWorker(stand_ins.function, stand_ins.resolver, stand_ins.endpoints)
        running.enter_context(closing(worker.start()))
        yield PublisherBackend(worker, stand_ins, definition)
