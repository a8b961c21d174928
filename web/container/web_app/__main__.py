"""`python -m web_app --port 8080`: serve until SIGTERM (ECS stops tasks with SIGTERM)."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from web_app.server import make_server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="web_app")
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 - the task's only interface is its ENI
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    server = make_server(args.host, args.port)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"web_app listening on {args.host}:{args.port}", flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
