"""Locust user for bench/origin.py: GET the web app's database route at a fixed rate per user.

Run by bench/origin.py in its own process (locust monkey-patches the standard library with gevent), with
BENCH_ORIGIN_PATH (default /db) and BENCH_USER_RPS (requests per second per simulated user).
"""

from __future__ import annotations

import os

from locust import FastHttpUser, constant_throughput, task

PATH = os.environ.get("BENCH_ORIGIN_PATH", "/db")
USER_RPS = float(os.environ.get("BENCH_USER_RPS", "5"))


class PageReader(FastHttpUser):
    wait_time = constant_throughput(USER_RPS)
    # A render that waits longer than this has failed for CloudFront's purposes long before.
    network_timeout = 10.0
    connection_timeout = 5.0

    @task
    def read(self) -> None:
        with self.client.get(PATH, name=PATH, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
