# Hall Assistant. `make run` starts the whole stack; `make test` passes the tests.
.PHONY: run test bench eval nlu-report backup restore report clean

run:
	@scripts/run.sh

test:
	@scripts/test.sh

# Throughput and latency of the REST channel against Rasa's own webhook (prints figures).
bench:
	@scripts/bench.sh

# Retrieval accuracy of the dense, lexical and hybrid retrievers on knowledge/eval/.
eval:
	@scripts/eval.sh

# `rasa data validate` and 5-fold cross-validated `rasa test nlu`; reports kept in nlu/reports/.
nlu-report:
	@scripts/nlu_report.sh

# Hall database and Redis into DIR (default var/backups/<time>); restore DIR into fresh ones.
backup:
	@scripts/backup.sh create $(DIR)

restore:
	@test -n "$(DIR)" || { echo "usage: make restore DIR=<backup folder> [FORCE=1]"; exit 2; }
	@scripts/backup.sh restore $(DIR) $(if $(FORCE),--force)

# Analytics report of the running stack: PNG charts, CSV tables, JSON in var/reports/
# (PERIOD=week|month|year, DATE=YYYY-MM-DD).
report:
	@scripts/report.sh

clean:
	rm -rf var
