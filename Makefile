# fip_ros: `make demo` to see it work, `make test` to check it.  Everything lives inside the repository.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ENV := . ./env.sh &&

.PHONY: help setup build test demo bench lint

help:
	@echo "make setup   venv + Python deps (+ ROS 2 wheels without a system ROS) + colcon build"
	@echo "make build   colcon build (fip_msgs, tf2_msgs stand-in if needed, fip_ros)"
	@echo "make test    setup, then the whole test suite (including lint)"
	@echo "make demo    setup, then the end-to-end demo (python -m fip_ros.cli.demo)"
	@echo "make bench   setup, then every bench/bench_*.py"
	@echo "make lint    ruff check ."

setup:
	scripts/bootstrap.sh setup

build:
	scripts/bootstrap.sh build

test: setup
	$(ENV) OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} python -m pytest -q

demo: setup
	@$(ENV) python -m fip_ros.cli.demo

bench: setup
	@$(ENV) shopt -s nullglob; files=(bench/bench_*.py); \
	if [[ $${#files[@]} == 0 ]]; then echo "make bench: no bench/bench_*.py yet" >&2; exit 1; fi; \
	for f in "$${files[@]}"; do echo "== $$f"; python "$$f" || exit 1; done

lint:
	@if [[ -x .venv/bin/ruff ]]; then .venv/bin/ruff check .; else ruff check .; fi
