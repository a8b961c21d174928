"""Edge cache code: the origin-request Lambda@Edge handler and the publisher's task handler.

Both deploy this one folder, so they share `keys`: `cache_key` is the one definition of where a page lives in
the bucket (CloudFront reads the pages origin's path `/pages` + the viewer's URI, the publisher writes that
key, the edge function sends to S3 only the paths that have one), and `BYPASS_PARAM` the one query parameter
of the page cache key. The edge handler's import chain uses only the standard library.
"""
