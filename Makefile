# The two set-up commands of the README:
#   make demo   install everything into .venv and run the seed's ensemble end to end
#               (its weights are built into model_repository/, the rest goes to build/demo/)
#   make test   install everything into .venv and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
AZURITE := build/tools/node_modules/.bin/azurite-blob

.PHONY: demo test install nginx clean

$(BIN)/ovtriton: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[server,test,models,deploy,cluster,storage]"
	touch $@

install: $(BIN)/ovtriton nginx $(AZURITE)

# The cluster's load balancer (ovtriton cluster, tests/cluster/): Debian's nginx, installed as
# root when missing (CI runs as root on a clean machine). The package's own service stays off.
nginx:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nginx; }

# Azurite (Microsoft's Azure Blob emulator) for tests/storage/, from npm into build/tools.
$(AZURITE):
	npm install --prefix build/tools --no-audit --no-fund --silent azurite@3.37.0

demo: install
	$(BIN)/ovtriton demo --config model_repository/config.json --workdir build/demo

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info
