# ovtriton on NVIDIA's Triton image: tritonserver, Triton's Python backend, OpenVINO and the
# openvino_py backend. Runs as a non-root user; the entrypoint converts a mounted OVMS config.json
# or serves a mounted Triton model repository (docker/entrypoint.sh says how it chooses).
#
#   docker build -t ovtriton:0.1.0 .
#   docker run --rm --shm-size=1g -p 8000-8002:8000-8002 -v "$PWD/models:/models:ro" ovtriton:0.1.0
#
# CI has no Docker engine: tests/deploy lint this file with hadolint and run docker/install.sh and
# docker/entrypoint.sh against the embedded tritonserver, so the steps below stay honest.

# 26.07 = Triton 2.71: Ubuntu 24.04, Python 3.12, a Python backend that supports NumPy 2.
ARG TRITON_VERSION=26.07
FROM nvcr.io/nvidia/tritonserver:${TRITON_VERSION}-py3

# The image has only the C++ OpenVINO backend's runtime, not OpenVINO's Python package.
# numpy<2 is what the image ships; pinning it keeps pip from swapping numpy under the image's own
# tools. ovtriton itself leaves numpy open.
ARG OPENVINO_VERSION=2026.4.1
ARG NUMPY_REQUIREMENT="numpy<2"

COPY . /tmp/ovtriton-src
RUN /tmp/ovtriton-src/docker/install.sh /tmp/ovtriton-src \
        "openvino==${OPENVINO_VERSION}" "${NUMPY_REQUIREMENT}" \
        "s3fs>=2024.2" "gcsfs>=2024.2" "adlfs>=2024.2" \
    && install -m 0755 /tmp/ovtriton-src/docker/entrypoint.sh /usr/local/bin/ovtriton-entrypoint \
    && rm -rf /tmp/ovtriton-src \
    && groupadd --gid 10001 ovtriton \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin ovtriton \
    && mkdir -p /models

# Defaults of docker/entrypoint.sh, spelt out. 0.0.0.0: inside the container the server must
# listen on all interfaces for published ports and Kubernetes Services to reach it.
ENV OVTRITON_MODEL_REPOSITORY=/models \
    OVTRITON_CONVERTED_REPOSITORY=/tmp/ovtriton/repository \
    OVTRITON_HOST=0.0.0.0 \
    OVTRITON_HTTP_PORT=8000 \
    OVTRITON_GRPC_PORT=8001 \
    OVTRITON_METRICS_PORT=8002 \
    OVTRITON_BACKEND_DIRECTORY=/opt/tritonserver/backends

EXPOSE 8000 8001 8002

# Ready = server up and every model loaded. Python: the image has no guarantee of curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('OVTRITON_HTTP_PORT', '8000') + '/v2/health/ready', timeout=4)"]

USER 10001:10001
WORKDIR /home/ovtriton

# NVIDIA's entrypoint first (CUDA compatibility set-up, banner), then ours; both exec, so
# tritonserver ends up as PID 1 and gets SIGTERM directly.
ENTRYPOINT ["/opt/nvidia/nvidia_entrypoint.sh", "/usr/local/bin/ovtriton-entrypoint"]
