"""Edge cache code: the publisher's task handler (fetch a page from the web origin inside its VPC, store it in
the cache bucket) and `keys`, the one definition of where a page lives in the bucket: CloudFront reads the pages
origin's path `/pages` + the viewer's URI, and the publisher writes that key.
"""
