# The two set-up commands of the README:
#   make demo   install everything into .venv and run the seed's ensemble end to end
#               (its weights are built into model_repository/, the rest goes to build/demo/)
#   make test   install everything into .venv and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test install clean

$(BIN)/ovtriton: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[server,test,models,deploy,storage]"
	touch $@

# Azurite (Microsoft's Azure Blob emulator) for tests/storage/, from npm into build/tools.
AZURITE := build/tools/node_modules/.bin/azurite-blob
$(AZURITE):
	npm install --prefix build/tools --no-audit --no-fund --silent azurite@3.37.0

install: $(BIN)/ovtriton $(AZURITE)

demo: install
	$(BIN)/ovtriton demo --config model_repository/config.json --workdir build/demo

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info
