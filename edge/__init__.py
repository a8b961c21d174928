"""The edge cache: CloudFront in front of the web app, reading pages from an S3 cache a publisher fills."""
