"""Edge cache code: the publisher's task handler (fetch a page from the web origin, store it in S3).

`keys.cache_key` is the one definition of where a page lives in the bucket: CloudFront reads that key
(the pages origin's path `/pages` + the viewer's URI) and the publisher writes it.
"""
