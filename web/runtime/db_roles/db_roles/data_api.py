"""Runs statements through the RDS Data API in one transaction (no network path into the VPC needed)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import ClientError

# A paused Aurora Serverless v2 cluster answers this while it resumes (about 15 s).
RESUMING = "DatabaseResumingException"


class DataApi:
    def __init__(
        self,
        client: Any,
        *,
        cluster_arn: str,
        secret_arn: str,
        database: str,
        attempts: int = 12,
        wait_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._target = {"resourceArn": cluster_arn, "secretArn": secret_arn}
        self._database = database
        self._attempts = attempts
        self._wait_s = wait_s
        self._sleep = sleep

    def run(self, statements: Sequence[str]) -> None:
        """All of `statements` or none of them."""
        transaction = self._call("begin_transaction", database=self._database)["transactionId"]
        try:
            for sql in statements:
                self._call("execute_statement", database=self._database, sql=sql, transactionId=transaction)
        except Exception:
            self._client.rollback_transaction(**self._target, transactionId=transaction)
            raise
        self._call("commit_transaction", transactionId=transaction)

    def _call(self, operation: str, **kwargs: Any) -> Any:
        for attempt in range(1, self._attempts + 1):
            try:
                return getattr(self._client, operation)(**self._target, **kwargs)
            except ClientError as error:
                if error.response["Error"]["Code"] != RESUMING or attempt == self._attempts:
                    raise
                self._sleep(self._wait_s)
        raise AssertionError("unreachable")
