# softmax-oracle: the two entry points of the README, each of which first makes sure MPFR is there.
#   make report   build (release) and print the accuracy report on the built-in default cases
#   make test     run the test suite (Swift Testing)
#   make gate     re-certify the committed golden fixtures and run the accuracy-regression gate
SWIFT ?= swift

.PHONY: report test gate mpfr

mpfr:
	@bash scripts/ensure-mpfr.sh

report: mpfr
	$(SWIFT) run -c release softmax-oracle report

test: mpfr
	$(SWIFT) test

gate: mpfr
	$(SWIFT) build --product softmax-oracle
	.build/debug/softmax-oracle fixtures verify Fixtures/golden
	.build/debug/softmax-oracle regress --baseline Fixtures/accuracy-baseline.json
