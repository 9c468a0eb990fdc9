#!/bin/sh
# The image's install steps, runnable outside Docker: CI runs this very script against a
# scratch virtual environment and the embedded tritonserver (tests/deploy/test_entrypoint.py).
#
#   install.sh SOURCE_DIR [REQUIREMENT...]
#
# Installs ovtriton from SOURCE_DIR (plus the pinned REQUIREMENTs, e.g. "openvino==2026.4.1"
# "numpy<2") into PYTHON's environment, places the openvino_py backend in the backend folder and
# checks that the stub's interpreter can import what the backend needs.
#
# Environment:
#   PYTHON                      interpreter whose environment gets the packages (python3)
#   OVTRITON_BACKEND_DIRECTORY  tritonserver's --backend-directory (/opt/tritonserver/backends)
set -eu

if [ "$#" -lt 1 ]; then
    echo "usage: install.sh SOURCE_DIR [REQUIREMENT...]" >&2
    exit 2
fi
source_dir=$1
shift
python=${PYTHON:-python3}
backends=${OVTRITON_BACKEND_DIRECTORY:-/opt/tritonserver/backends}

"$python" -m pip install --no-cache-dir "$source_dir" "$@"

# The backend's modules become <backend-dir>/openvino_py/ (model.py and its siblings). Never name
# it "openvino": NVIDIA's images ship the C++ backends/openvino, which would win.
# -I: import the installed ovtriton, never a source tree in the current directory.
"$python" -I - "$backends/openvino_py" <<'PY'
import sys
from pathlib import Path

from ovtriton.server.embedded import install_backend

target = install_backend(Path(sys.argv[1]))
print(f"openvino_py backend installed in {target}")
PY
"$python" -m compileall -q "$backends/openvino_py"

# What the Python backend stub will import in this environment.
"$python" -I -c 'import numpy, openvino; print(f"numpy {numpy.__version__}, openvino {openvino.__version__}")'
test -f "$backends/openvino_py/model.py"
