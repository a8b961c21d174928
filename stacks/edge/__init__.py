"""The edge cache: CloudFront in front of the web app, an S3 cache answered by Lambda@Edge, a publisher."""
