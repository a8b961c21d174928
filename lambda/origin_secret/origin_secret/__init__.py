"""Rotation of the origin secret: the header CloudFront adds and the load balancer's listener requires."""
