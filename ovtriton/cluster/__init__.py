"""``ovtriton cluster``: a storage server, serve replicas reading one bucket, a load balancer."""
