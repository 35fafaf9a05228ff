# softmax-oracle: the two entry points of the README, each of which first makes sure MPFR is there.
#   make report   build (release) and print the accuracy report on the built-in default cases
#   make test     run the test suite (Swift Testing), then the Python package's (make test-python)
#   make test-python  build the CLI (debug), install python/ into .venv-python, run pytest python/tests
#   make gate     re-certify the committed golden fixtures and run the accuracy-regression gate
#   make dist     dist/softmax-oracle: release build, Swift runtime and MPFR/GMP linked statically
#   make wheel    dist/softmax_oracle-*.whl: python/ with that binary bundled (a platform wheel)
#   make test-fma the kernel and bound suites again in the FMA build (SOFTMAX_ORACLE_TARGET_CPU,
#                 default native; its own .build-fma), for a CPU with FMA
SWIFT ?= swift
# The python3 that creates .venv-python: the one on PATH (.ci/run puts its .venv-ci first).
PYTHON ?= python3
PY_VENV := .venv-python

.PHONY: report test test-python gate mpfr dist wheel test-fma

mpfr:
	@bash scripts/ensure-mpfr.sh

report: mpfr
	$(SWIFT) run -c release softmax-oracle report

test: mpfr
	$(SWIFT) test
	@$(MAKE) --no-print-directory test-python

FMA_CPU ?= native
test-fma: mpfr
	SOFTMAX_ORACLE_TARGET_CPU=$(FMA_CPU) $(SWIFT) test --scratch-path .build-fma \
		--filter 'AccurateVectorTests|AccurateStoredTermsTests|AccurateIdentityTests|SpecialValueTests|AccurateBoundTests|DoubleWordArithmeticTests'

# pytest's exit status 5 (no test collected) is a failure here, not a pass.
test-python: mpfr
	$(SWIFT) build --product softmax-oracle
	@test -x $(PY_VENV)/bin/python3 || $(PYTHON) -m venv $(PY_VENV)
	$(PY_VENV)/bin/python3 -m pip install --quiet --disable-pip-version-check numpy pytest ml_dtypes mpmath
	$(PY_VENV)/bin/python3 -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./python
	@SOFTMAX_ORACLE_BIN="$(CURDIR)/.build/debug/softmax-oracle" $(PY_VENV)/bin/python3 -m pytest python/tests \
		-p no:cacheprovider -ra; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test-python: pytest collected no test" >&2; exit 1; fi; exit $$status

gate: mpfr
	$(SWIFT) build --product softmax-oracle
	.build/debug/softmax-oracle fixtures verify Fixtures/golden
	.build/debug/softmax-oracle regress --baseline Fixtures/accuracy-baseline.json

# Not part of `make test` or .ci/run: a release build with static linking takes many minutes.
dist: mpfr
	SWIFT="$(SWIFT)" bash scripts/build-dist.sh

wheel: dist
	PYTHON="$(PYTHON)" bash scripts/build-wheel.sh
