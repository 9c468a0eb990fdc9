"""The ``openvino_py`` Triton Python-based backend.

This folder is installed twice: as the ``ovtriton.backend`` package (so the converter and the
tests can use its logic) and, as it is, as ``<backend-dir>/openvino_py/`` where Triton's Python
backend imports ``model.py`` for every model whose config says ``backend: "openvino_py"``.
Only ``model.py`` talks to Triton; every other module is plain OpenVINO + NumPy.
"""

BACKEND_NAME = "openvino_py"  # what config.pbtxt's ``backend:`` says, and the backend's folder
