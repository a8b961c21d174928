"""The local sandbox: LocalStack on 127.0.0.1 without Docker, and what points the README's targets at it.

`python -m tools.local_sandbox up|down|status|env|parameters|api-url`; the Makefile's local-* targets call it.
"""
