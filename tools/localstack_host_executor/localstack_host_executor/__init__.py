"""Run LocalStack's Lambda functions as host processes (no Docker engine needed).

`plugin` is loaded by LocalStack (entry point `localstack.lambda.runtime_executor: host`);
`worker` is the stdlib-only process that hosts one execution environment.
"""
