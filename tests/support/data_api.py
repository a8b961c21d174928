"""A stand-in for the RDS Data API in front of the tests' real PostgreSQL, on 127.0.0.1.

Neither moto (its rds-data implements ExecuteStatement only, with canned results) nor LocalStack's free
edition serves the Data API, and the database-role function speaks nothing else. This serves the four
operations it uses, as the API does: each call names the cluster and a secret whose `username`/`password`
it signs in with (read from moto's Secrets Manager, as the Data API reads Secrets Manager), and a
transaction is one connection until it is committed or rolled back. Errors come back as the API's
BadRequestException with the database's message. Hand-written: no library serves the Data API locally.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tests.support.postgres import Postgres
from tests.support.servers import QuietHandler, http_server

if TYPE_CHECKING:  # imported when a stand-in starts (pytest's controller process loads this module too)
    import psycopg


@contextmanager
def data_api(server: Postgres, secrets: Any) -> Iterator[str]:
    """The stand-in's endpoint (for AWS_ENDPOINT_URL_RDS_DATA); `secrets` is a Secrets Manager client."""
    import psycopg

    transactions: dict[str, psycopg.Connection[Any]] = {}
    lock = threading.Lock()

    def connect(body: dict[str, Any]) -> psycopg.Connection[Any]:
        login = json.loads(secrets.get_secret_value(SecretId=body["secretArn"])["SecretString"])
        return psycopg.connect(
            host=server.host,
            port=server.port,
            dbname=body.get("database") or login.get("dbname") or "postgres",
            user=login["username"],
            password=login["password"],
        )

    def operate(path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == "/BeginTransaction":
            transaction = uuid.uuid4().hex
            with lock:
                transactions[transaction] = connect(body)
            return {"transactionId": transaction}
        if path == "/Execute":
            if body.get("transactionId"):
                with lock:
                    connection = transactions[body["transactionId"]]
                connection.execute(body["sql"])
                return {"numberOfRecordsUpdated": 0, "records": []}
            with connect(body) as connection:
                connection.execute(body["sql"])
            return {"numberOfRecordsUpdated": 0, "records": []}
        if path in ("/CommitTransaction", "/RollbackTransaction"):
            with lock:
                connection = transactions.pop(body["transactionId"])
            with connection:
                if path == "/CommitTransaction":
                    connection.commit()
                    return {"transactionStatus": "Transaction Committed"}
                connection.rollback()
                return {"transactionStatus": "Rollback Complete"}
        raise LookupError(path)

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            try:
                status, answer, kind = 200, operate(self.path, body), ""
            except psycopg.Error as error:
                status, answer, kind = 400, {"message": str(error).strip()}, "BadRequestException"
            except LookupError as error:
                status, answer, kind = 404, {"message": f"not served here: {error}"}, "NotFoundException"
            headers = {"Content-Type": "application/json", **({"x-amzn-ErrorType": kind} if kind else {})}
            self.reply(status, headers, json.dumps(answer).encode())

    try:
        with http_server(Handler) as address:
            yield f"http://{address}"
    finally:
        for connection in transactions.values():
            connection.close()
