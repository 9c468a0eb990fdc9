"""ovtriton: OpenVINO models and OVMS pipelines served by NVIDIA Triton (backend ``openvino_py``)."""

__version__ = "0.1.0"
