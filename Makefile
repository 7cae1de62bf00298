.PHONY: help bootstrap infra-up infra-down up down test unit integration e2e lint fmt bench compose-up compose-down compose-test compose-cluster-up compose-cluster-down compose-cluster-test

help:
	@echo "make up | down | test | unit | integration | e2e | lint | fmt | infra-up | infra-down"
	@echo "make compose-up | compose-down | compose-test"
	@echo "make compose-cluster-up | compose-cluster-down | compose-cluster-test"

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

compose-up:
	bash scripts/compose-up.sh

compose-down:
	docker compose down

compose-test:
	bash scripts/compose-test.sh

# Three brokers and two instances of every service (deploy/compose/cluster.yml).
CLUSTER = docker compose -p packages-cluster -f docker-compose.yml -f deploy/compose/cluster.yml

compose-cluster-up:
	bash scripts/compose-up.sh --cluster

compose-cluster-down:
	$(CLUSTER) down

compose-cluster-test:
	bash scripts/cluster-test.sh
