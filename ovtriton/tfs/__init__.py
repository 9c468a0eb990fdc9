"""The TensorFlow Serving API front of ``ovtriton serve``: OVMS's clients work unchanged.

On OVMS's ports (``--port``, ``--rest_port``) it answers TFS gRPC and REST by forwarding to the
Triton that serve runs, and passes KServe v2 calls to Triton as they came.
"""
