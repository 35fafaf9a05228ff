# softmax-oracle: the two entry points of the README, each of which first makes sure MPFR is there.
#   make report   build (release, for this CPU: see below) and print the accuracy report on the
#                 built-in default cases
#   make test     run the test suite (Swift Testing) in the portable build, then the Python
#                 package's (make test-python)
#   make test-python  build the CLI (debug), install python/ into .venv-python, run pytest python/tests
#                 (TORCH=auto|1|0: PyTorch CPU for the torch tests, see below)
#   make gate     re-certify the committed golden fixtures and run the accuracy-regression gate
#   make dist     dist/softmax-oracle (portable) and dist/softmax-oracle-x86-64-v4 (FMA, AVX-512):
#                 release builds, Swift runtime and MPFR/GMP linked statically
#   make wheel    dist/softmax_oracle-*.whl: python/ with both binaries bundled (a platform wheel;
#                 the package runs the FMA one when the CPU has it)
#   make test-fma the kernel and bound suites, and the certified tier against MPFR, again in the
#                 FMA build (FMA_CPU, default native; its own .build-native), for a CPU with FMA;
#                 .ci/run runs it when the CPU has FMA and AVX2
#
# Release builds (report; scripts/bench*.sh, tier-grid.sh) are for this CPU: scripts/target-cpu.sh
# picks `native` (hardware FMA, widest vectors) when the CPU has FMA and AVX2, else the portable
# build; SOFTMAX_ORACLE_TARGET_CPU=portable (or empty) forces portable, =NAME that LLVM CPU. Each
# choice builds in its own .build-NAME. Same error bounds, same certified outputs either way. The
# release CLI is a static executable on Linux (.build-NAME-static; a sixth of the dynamic build's
# start-up), SOFTMAX_ORACLE_LINK=dynamic links the shared libraries.
SWIFT ?= swift
# The python3 that creates .venv-python: the one on PATH (.ci/run puts its .venv-ci first).
PYTHON ?= python3
PY_VENV := .venv-python

.PHONY: report test test-python gate mpfr dist wheel test-fma

mpfr:
	@bash scripts/ensure-mpfr.sh

# The portable build, whatever the environment says: the debug builds in .build (tests, gate).
PORTABLE := SOFTMAX_ORACLE_TARGET_CPU=

report: mpfr
	@bash -c '. scripts/target-cpu.sh && set -x && "$$0" build "$${oracle_args[@]}" --product softmax-oracle >&2 \
	    && "$$("$$0" build "$${oracle_args[@]}" --show-bin-path)/softmax-oracle" report' "$(SWIFT)"

test: mpfr
	$(PORTABLE) $(SWIFT) test
	@$(MAKE) --no-print-directory test-python

FMA_CPU ?= native
test-fma: mpfr
	SOFTMAX_ORACLE_TARGET_CPU=$(FMA_CPU) $(SWIFT) test --scratch-path .build-$(FMA_CPU) \
		--filter 'AccurateVectorTests|AccurateStoredTermsTests|AccurateIdentityTests|SpecialValueTests|AccurateBoundTests|DoubleWordArithmeticTests|DoubleWordTierAgreementTests|DoubleWordCertificationTests'

# PyTorch (CPU) for the torch tests and adapters. PyPI's Linux wheel cannot import without its
# CUDA libraries (libcudart, libcublas, ...: GBs of nvidia-* packages), so only a CPU build that pip
# finds without an index (a wheel in its configured --find-links) is installed, with its small
# pure-Python dependencies from PyPI. TORCH=auto (default): install it when found, else skip the
# torch tests (pytest names each skip); TORCH=1: fail without it; TORCH=0: do not install it.
TORCH ?= auto
TORCH_DEPS := 'setuptools>=77.0.3' filelock 'typing-extensions>=4.10' 'sympy>=1.13.3' 'networkx>=2.5.1' jinja2 'fsspec>=0.8.5'
PIP := $(PY_VENV)/bin/python3 -m pip install --quiet --disable-pip-version-check

# pytest's exit status 5 (no test collected) is a failure here, not a pass.
test-python: mpfr
	$(PORTABLE) $(SWIFT) build --product softmax-oracle
	@test -x $(PY_VENV)/bin/python3 || $(PYTHON) -m venv $(PY_VENV)
	$(PIP) numpy pytest ml_dtypes mpmath
	$(PIP) --force-reinstall --no-deps ./python
	@if [ "$(TORCH)" = 0 ] || $(PY_VENV)/bin/python3 -c 'import torch' 2>/dev/null; then :; \
	elif $(PIP) --no-index --no-deps torch 2>/dev/null && $(PIP) $(TORCH_DEPS) \
	        && $(PY_VENV)/bin/python3 -c 'import torch' 2>/dev/null; then \
	    echo "make test-python: installed torch $$($(PY_VENV)/bin/python3 -c 'import torch; print(torch.__version__)') (CPU)"; \
	else \
	    $(PY_VENV)/bin/python3 -m pip uninstall --quiet --yes torch 2>/dev/null; \
	    if [ "$(TORCH)" = 1 ]; then echo "make test-python: TORCH=1 but no CPU torch wheel that imports" >&2; exit 1; fi; \
	    echo "make test-python: no CPU torch wheel found without an index: the torch tests are skipped"; \
	fi
	@SOFTMAX_ORACLE_BIN="$(CURDIR)/.build/debug/softmax-oracle" $(PY_VENV)/bin/python3 -m pytest python/tests \
		-p no:cacheprovider -ra; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test-python: pytest collected no test" >&2; exit 1; fi; exit $$status

gate: mpfr
	$(PORTABLE) $(SWIFT) build --product softmax-oracle
	.build/debug/softmax-oracle fixtures verify Fixtures/golden
	.build/debug/softmax-oracle regress --baseline Fixtures/accuracy-baseline.json

# Not part of `make test` or .ci/run: a release build with static linking takes many minutes.
dist: mpfr
	SWIFT="$(SWIFT)" bash scripts/build-dist.sh

wheel: dist
	PYTHON="$(PYTHON)" bash scripts/build-wheel.sh
