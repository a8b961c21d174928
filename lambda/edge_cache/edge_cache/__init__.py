"""Edge cache code: the origin-request Lambda@Edge handler and the publisher's task handler.

Both deploy this one folder so they derive S3 keys from paths with the same function (`keys.cache_key`).
The edge handler's import chain uses only the standard library and the runtime's boto3.
"""
