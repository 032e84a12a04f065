# cc: two commands for a fresh clone — `make demo` and `make test` (and `make digits`, the deep-learning
# example). They run make.py, which also works without make (`python make.py demo`, `python make.py test`:
# Windows) and picks a Python >= 3.10 (macOS's python3 is often 3.9).
PY ?= python3

.PHONY: demo digits test install bench clean

demo digits test install bench clean:
	$(PY) make.py $@
