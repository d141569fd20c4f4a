# Two commands on a fresh machine (Python 3.11, git, make):
#   make demo   - set up .venv and run the end-to-end demo
#   make test   - set up .venv and run the whole test suite (lint + unit + integration + sim)
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.robot_control-installed

# Keep DDS discovery on this machine unless the caller chose otherwise.
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST
export HF_HUB_OFFLINE ?= 1
export MUJOCO_GL ?= egl
PYTEST_ARGS ?=

.PHONY: setup test lint unit demo bench soak lock protos clean-shm clean

setup: $(STAMP)

$(STAMP): requirements/base.lock setup.py package.xml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH (or: make PYTHON=python3)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements/base.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -c "import robot_control, rclpy, mujoco, onnxruntime, grpc; from robot_control.v1 import planner_pb2_grpc"
	touch $@

lint: setup
	$(VENV)/bin/ruff check .

test: setup lint
	$(PY) -m robot_control.tools.shm_clean
	$(PY) -m pytest $(PYTEST_ARGS); status=$$?; $(PY) -m robot_control.tools.shm_clean; exit $$status

unit: setup
	$(PY) -m pytest -m unit $(PYTEST_ARGS)

demo: setup
	$(VENV)/bin/robot-control demo

# Benchmarks into runs/bench-<timestamp>.json (BENCH_ARGS=--quick for a short smoke run);
# `make soak` runs the full stack for SOAK_S seconds (default 600) and reports drift and RSS growth.
BENCH_ARGS ?=
SOAK_S ?= 600
bench: setup
	$(VENV)/bin/robot-control bench $(BENCH_ARGS); status=$$?; $(PY) -m robot_control.tools.shm_clean; exit $$status

soak: setup
	$(VENV)/bin/robot-control bench --soak $(SOAK_S) $(BENCH_ARGS); status=$$?; $(PY) -m robot_control.tools.shm_clean; exit $$status

protos: setup
	$(PY) -m robot_control.protogen

# Re-pin requirements/base.lock (with hashes) from requirements/base.in.
lock:
	$(PY) -m pip install --quiet "uv==0.13.9"
	$(VENV)/bin/uv pip compile requirements/base.in --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 --no-header --annotation-style line \
	  --find-links /opt/wheels -o requirements/base.lock

clean-shm: setup
	$(PY) -m robot_control.tools.shm_clean

clean:
	rm -rf $(VENV) build *.egg-info
