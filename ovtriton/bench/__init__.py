"""``ovtriton bench``: a pipeline in process, as a Triton ensemble and chained by the client."""
