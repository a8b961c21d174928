"""Settings of the web service stack."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, model_validator

from stage.config_base import ConfigModel, check_retention

# Fargate's valid task sizes: CPU units -> allowed memory (MiB).
FARGATE_MEMORY_MIB: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
}
# Aurora Serverless v2 capacity range (ACUs, in steps of 0.5); 0 means pause when idle.
ACU_MIN, ACU_MAX = 0.0, 256.0
# ALB weighted forward actions accept weights 0..999.
WEIGHT_MAX = 999
# The standard gRPC health checking service (grpc.health.v1).
GRPC_HEALTH_PATH = "/grpc.health.v1.Health/Check"
CERTIFICATE_ARN = r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$"
_HOST = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.){1,10}[a-z]{2,63}$"
# Where an ALB accepts IP targets outside its VPC's subnets: RFC 1918 and RFC 6598 ranges (not loopback,
# link-local or public addresses).
IP_TARGET_RANGES = tuple(
    ipaddress.IPv4Network(cidr) for cidr in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
)


class WebConfig(ConfigModel):
    """The web service stack (ALB -> ECS on Fargate -> Aurora PostgreSQL Serverless v2)."""

    # Network
    nat: Literal["instance", "gateway", "gateway_per_az"] = Field(
        default="gateway",
        description="instance: one NAT instance (cheapest, not highly available); gateway: one shared NAT gateway; "
        "gateway_per_az: one per AZ (no cross-AZ dependency)",
    )
    nat_instance_type: str = Field(
        default="t4g.micro",
        pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$",
        description="EC2 type when nat=instance; dnf needs more than a nano's 512 MB at first boot",
    )
    # Service
    image_build: Literal["codebuild", "docker"] = Field(
        default="codebuild",
        description="codebuild: CodeBuild builds the image (arm64) during the deployment, so `cdk deploy` needs no "
        "Docker; docker: `cdk deploy` builds it as an image asset with the local Docker engine",
    )
    container_port: int = Field(default=8080, ge=1024, le=65_535, description="unprivileged: the app runs as non-root")
    cpu: int = Field(default=256, description="Fargate CPU units per task")
    memory_mib: int = Field(default=512, description="must be a valid Fargate size for `cpu`")
    desired_count: int | None = Field(
        default=None, ge=1, le=100, description="None: auto scaling owns the count, so a deploy never resets it"
    )
    min_tasks: int = Field(default=1, ge=1, le=100)
    max_tasks: int = Field(default=2, ge=1, le=100)
    cpu_target_percent: int = Field(default=60, ge=10, le=90)
    requests_per_target: int = Field(default=500, ge=10, le=100_000, description="per task per minute")
    health_check_path: str | None = Field(
        default=None, pattern=r"^/[A-Za-z0-9/._-]*$", description="None: /health, or the gRPC health service"
    )
    health_check_grace_s: int = Field(default=60, ge=0, le=2_147_483_647)
    deregistration_delay_s: int = Field(default=30, ge=0, le=3_600)
    log_retention_days: int = 30
    protocol: Literal["http1", "grpc"] = Field(default="http1", description="target group protocol version")
    deployment_strategy: Literal["rolling", "blue_green"] = "rolling"
    bake_time_minutes: int = Field(default=5, ge=0, le=1_440, description="blue/green: both revisions kept")
    # Load balancer (internal: CloudFront reaches it through a VPC origin)
    https: bool = Field(
        default=False,
        description="HTTPS listener, and HTTPS from CloudFront's VPC origin and the publisher; needs certificate_arn "
        "and origin_domain_name",
    )
    certificate_arn: str | None = Field(default=None, pattern=CERTIFICATE_ARN)
    origin_domain_name: str | None = Field(
        default=None,
        pattern=_HOST,
        description="a name the certificate covers: CloudFront sends it as the origin's host name and checks the "
        "certificate against it (it need not resolve: the VPC origin reaches the load balancer by its ARN)",
    )
    access_log_retention_days: int = Field(default=90, ge=1, le=3_650)
    # Gradual migration: IP targets of the old fleet beside the ECS tasks, weighted on the listener.
    legacy_target_ips: tuple[str, ...] = Field(default=(), max_length=100)
    legacy_port: int = Field(default=80, ge=1, le=65_535)
    legacy_health_check_path: str | None = Field(default=None, pattern=r"^/[A-Za-z0-9/._-]*$")
    legacy_weight: int = Field(default=0, ge=0, le=WEIGHT_MAX)
    service_weight: int = Field(default=1, ge=0, le=WEIGHT_MAX)
    # Database
    db_min_acu: float = Field(default=0.5, ge=ACU_MIN, le=ACU_MAX, multiple_of=0.5)
    db_max_acu: float = Field(default=2.0, ge=1.0, le=ACU_MAX, multiple_of=0.5)
    db_auto_pause_minutes: int = Field(default=5, ge=5, le=1_440, description="idle time before pausing (min 0)")
    db_readers: int = Field(default=0, ge=0, le=15)
    db_backup_retention_days: int = Field(default=1, ge=1, le=35)
    db_rotation_days: int | None = Field(default=None, ge=1, le=365, description="None: no rotation")
    db_log_retention_days: int = 30

    @model_validator(mode="after")
    def _rules(self) -> WebConfig:
        check_retention(self.log_retention_days, "log_retention_days")
        check_retention(self.db_log_retention_days, "db_log_retention_days")
        if self.cpu not in FARGATE_MEMORY_MIB:
            raise ValueError(f"cpu: must be one of {', '.join(map(str, FARGATE_MEMORY_MIB))}, got {self.cpu}")
        if self.memory_mib not in FARGATE_MEMORY_MIB[self.cpu]:
            allowed = FARGATE_MEMORY_MIB[self.cpu]
            raise ValueError(
                f"memory_mib: with cpu={self.cpu} must be {allowed[0]}..{allowed[-1]} in steps of "
                f"{allowed[1] - allowed[0]} (a Fargate task size), got {self.memory_mib}"
            )
        if self.min_tasks > self.max_tasks:
            raise ValueError(f"min_tasks: must be <= max_tasks ({self.max_tasks}), got {self.min_tasks}")
        if self.desired_count is not None and not self.min_tasks <= self.desired_count <= self.max_tasks:
            raise ValueError(
                f"desired_count: must be within [min_tasks, max_tasks] = [{self.min_tasks}, {self.max_tasks}], "
                f"got {self.desired_count}"
            )
        if self.db_min_acu > self.db_max_acu:
            raise ValueError(f"db_min_acu: must be <= db_max_acu ({self.db_max_acu}), got {self.db_min_acu}")
        if self.https and not self.certificate_arn:
            raise ValueError("https: true needs certificate_arn (an ACM certificate in the stage's region)")
        if self.https and not self.origin_domain_name:
            raise ValueError(
                "https: true needs origin_domain_name (a name certificate_arn covers: CloudFront checks the "
                "load balancer's certificate against it)"
            )
        for name in ("certificate_arn", "origin_domain_name"):
            if getattr(self, name) and not self.https:
                raise ValueError(f"{name}: takes effect with https: true only (set it, or leave {name} out)")
        if self.protocol == "grpc" and not self.https:
            raise ValueError("protocol: 'grpc' needs https: true (ALB routes gRPC over HTTPS listeners only)")
        self._migration_rules()
        self.refuse_unused(
            {
                "nat_instance_type": (self.nat == "instance", "nat: 'instance'"),
                "bake_time_minutes": (self.deployment_strategy == "blue_green", "deployment_strategy: 'blue_green'"),
                "legacy_port": (bool(self.legacy_target_ips), "legacy_target_ips"),
                "legacy_health_check_path": (bool(self.legacy_target_ips), "legacy_target_ips"),
            }
        )
        return self

    def _migration_rules(self) -> None:
        if self.service_weight == 0 and self.legacy_weight == 0:
            raise ValueError("service_weight: service_weight and legacy_weight must not both be 0")
        for ip in self.legacy_target_ips:
            try:
                address = ipaddress.IPv4Address(ip)
            except ValueError:
                raise ValueError(f"legacy_target_ips: {ip!r} is not an IPv4 address") from None
            if not any(address in network for network in IP_TARGET_RANGES):
                raise ValueError(
                    f"legacy_target_ips: {ip!r} is outside the ranges ALB accepts for IP targets "
                    f"({', '.join(map(str, IP_TARGET_RANGES))})"
                )
        if self.legacy_weight and not self.legacy_target_ips:
            raise ValueError(f"legacy_weight: {self.legacy_weight} routes traffic nowhere; set legacy_target_ips")
        if self.legacy_target_ips and self.deployment_strategy == "blue_green":
            raise ValueError(
                "deployment_strategy: 'blue_green' cannot be combined with legacy_target_ips "
                "(ECS owns the listener rule's weights during a blue/green deployment)"
            )

    @property
    def has_legacy(self) -> bool:
        return bool(self.legacy_target_ips)

    @property
    def health_path(self) -> str:
        if self.health_check_path:
            return self.health_check_path
        return GRPC_HEALTH_PATH if self.protocol == "grpc" else "/health"
