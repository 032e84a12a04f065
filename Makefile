# cc: two commands for a fresh clone — `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Every distribution in the repository: cc-core, the built-in plugins under plugins/, the plugins at the top.
DISTS := . $(sort $(dir $(wildcard plugins/*/pyproject.toml))) $(sort $(dir $(wildcard cc_plugin_*/pyproject.toml)))
TESTS := tests $(wildcard plugins/*/tests) $(wildcard cc_plugin_*/tests)

.PHONY: demo test install bench clean

$(BIN)/.installed: pyproject.toml $(wildcard plugins/*/pyproject.toml) $(wildcard cc_plugin_*/pyproject.toml) requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	$(BIN)/python -m pip install -q $(foreach d,$(DISTS),-e $(d))
	$(BIN)/python -m pip install -q -e 'plugins/local[notebook]'
	touch $@

install: $(BIN)/.installed

demo: install
	CC_HOME=$${CC_HOME:-$(CURDIR)/demo-out/home} $(BIN)/ccw run examples/demo/workflow.yaml
	CC_HOME=$${CC_HOME:-$(CURDIR)/demo-out/home} $(BIN)/ccw export demo --format yaml -o demo-out/demo.yaml
	CC_HOME=$${CC_HOME:-$(CURDIR)/demo-out/home} $(BIN)/ccw export demo --format svg -o demo-out/demo.svg
	@echo "state: demo-out/home/cc.db   workflow: demo-out/demo.yaml   graph: demo-out/demo.svg"

test: install
	$(BIN)/python -m pytest -q $(TESTS)

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) demo-out
