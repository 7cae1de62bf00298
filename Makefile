.PHONY: help bootstrap infra-up infra-down up down test unit integration e2e lint fmt bench

help:
	@echo "make up | down | test | unit | integration | e2e | lint | fmt | infra-up | infra-down"

bootstrap:
	bash scripts/bootstrap.sh

infra-up:
	bash scripts/bootstrap.sh && bash deploy/local/infra.sh up

infra-down:
	bash deploy/local/infra.sh down

up:
	bash scripts/up.sh

down:
	bash scripts/down.sh

test:
	bash scripts/test.sh

unit:
	bash scripts/test.sh -m unit

integration:
	bash scripts/test.sh -m integration

e2e:
	bash scripts/test.sh -m e2e

lint:
	bash scripts/lint.sh

bench:
	bash scripts/bootstrap.sh && eval "$$(bash deploy/local/infra.sh up)" && uv run --frozen python bench/run.py $(BENCH_ARGS)

fmt:
	uv run ruff format . && uv run ruff check --fix .
