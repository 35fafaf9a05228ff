# softmax-oracle: the two entry points of the README, each of which first makes sure MPFR is there.
#   make report   build (release) and print the accuracy report on the built-in default cases
#   make test     run the test suite (Swift Testing)
SWIFT ?= swift

.PHONY: report test mpfr

mpfr:
	@bash scripts/ensure-mpfr.sh

report: mpfr
	$(SWIFT) run -c release softmax-oracle report

test: mpfr
	$(SWIFT) test
