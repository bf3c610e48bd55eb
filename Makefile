# Hall Assistant. `make run` starts the whole stack; `make test` passes the tests.
.PHONY: run test bench eval nlu-report report clean

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

# Analytics report of the running stack: PNG charts, CSV tables, JSON in var/reports/
# (PERIOD=week|month|year, DATE=YYYY-MM-DD).
report:
	@scripts/report.sh

clean:
	rm -rf var
