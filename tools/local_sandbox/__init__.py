"""The local sandbox: LocalStack on 127.0.0.1 without Docker, and the app deployed onto it with cdklocal.

`python -m tools.local_sandbox up|deploy|destroy|down|status`; the Makefile's local-* targets call it.
"""
