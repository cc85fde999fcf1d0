# One command per task: the same in the README, in CI and on a developer's machine.
.PHONY: setup start test up down status bench release clean

setup:              ## create .venv and install the lab (idempotent)
	@scripts/setup.sh

start: setup        ## start the stack and open JupyterLab on the notebooks
	@.venv/bin/lab start $(ARGS)

test:               ## set up, then run every test (starts what the tests need)
	@scripts/test.sh $(ARGS)

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

clean:
	rm -rf .venv .pytest_cache
