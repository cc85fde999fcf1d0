# One command per task: the same in the README, in CI and on a developer's machine.
.PHONY: setup start test test-binder up down status bench bench-binder release clean

setup:              ## create .venv and install the lab (idempotent)
	@scripts/setup.sh

start: setup        ## start the stack and open JupyterLab on the notebooks
	@.venv/bin/lab start $(ARGS)

test:               ## set up, then run every test (starts what the tests need)
	@scripts/test.sh $(ARGS)

test-binder: setup  ## Binder, proven here: build from apt.txt/environment.yml/postBuild, run `start` and every notebook as an unprivileged user in a 2 GB, one-CPU cgroup (root; ~15 min)
	@.venv/bin/python -m pytest tests/binder -m binder -s $(ARGS)

up: setup
	@.venv/bin/lab up
down:
	@.venv/bin/lab down
status:
	@.venv/bin/lab status

release: setup      ## regenerate exercises/ from solutions/
	@.venv/bin/lab release

bench: setup        ## measure start-up time, memory (PSS) and the host's throughput (see bench/)
	@.venv/bin/python bench/bench_stack.py
	@.venv/bin/python bench/bench_host.py

bench-binder: setup  ## Binder's figures: build and start time, peak memory of the launch per notebook (root)
	@.venv/bin/python bench/bench_binder.py

clean:
	rm -rf .venv .pytest_cache
