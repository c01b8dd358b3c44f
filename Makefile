# dingfn build.
#
#   make build   all eight deployable artifacts:
#                  dist/fc/<function>/main          linux/amd64, FC runtime go1
#                  dist/lambda/<function>/bootstrap linux/arm64, Lambda provided.al2023
#   make test    the test suite (go test -race ./...)
#   make vet     go vet ./...
#   make bench   the README's performance table (dingfn bench; BENCHFLAGS=--quick
#                for a run under a minute, --large adds the 100 000-user row)
#   make fuzz    every fuzz target for FUZZTIME each (default 1m)
#   make clean   remove dist/ and SAM's .aws-sam/
#
# Builds are reproducible: the same sources and Go toolchain give the same
# bytes on any machine and in any directory (no cgo, no file paths, no VCS
# stamp, no build id, fixed GOAMD64/GOARM64 levels). shared/deploy's tests
# check this.
#
# Each artifact links only what its platform and configuration can run:
# the build tag dingfn.fc or dingfn.lambda leaves the other platform's
# runtime client out, lambda.norpc leaves out aws-lambda-go's RPC mode, and
# only the store backends in STORES are linked. A function started with a
# DINGFN_STORE its build left out stops at once, naming DINGFN_STORE. For
# Redis: make build STORES="tablestore redis" (or STORES=redis), and the
# same variable in the environment of `sam build` or `s deploy`. Builds
# without these tags (go run, go build) link everything.
#
# s.yaml's pre-deploy actions call build-fc-<function>; SAM's
# `BuildMethod: makefile` calls build-<LogicalId> with ARTIFACTS_DIR set.
# Both go through the same go-build macros below.

GO       ?= go
DIST     ?= dist
FUNCTIONS := callback notify sync token-refresher

# Store backends linked into every artifact: any of tablestore redis bolt
# memory, separated by spaces (shared/deploy.DefaultStores).
STORES ?= tablestore memory
KNOWN_STORES := tablestore redis bolt memory
$(foreach s,$(STORES),$(if $(filter $(s),$(KNOWN_STORES)),,$(error STORES: "$(s)" is not one of $(KNOWN_STORES))))
$(if $(strip $(STORES)),,$(error STORES is empty: name at least one of $(KNOWN_STORES)))

comma := ,
space := $(subst ,, )
STORE_TAGS := $(subst $(space),$(comma),$(addprefix dingfn.,$(strip $(STORES))))

# Flags every artifact is built with; shared/deploy's tests read the result
# back from the binaries' build info.
GOBUILD_FLAGS := -trimpath -buildvcs=false -ldflags '-s -w -buildid='
FC_TAGS     := dingfn.fc,lambda.norpc,$(STORE_TAGS)
LAMBDA_TAGS := dingfn.lambda,lambda.norpc,$(STORE_TAGS)

# $(call fc-build,function,output): Function Compute go1 runs linux/amd64.
define fc-build
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOAMD64=v1 \
		$(GO) build $(GOBUILD_FLAGS) -tags $(FC_TAGS) -o "$(2)" ./functions/$(1)
endef

# $(call lambda-build,function,output): provided.al2023 on Graviton runs an
# executable named bootstrap.
define lambda-build
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 GOARM64=v8.0 \
		$(GO) build $(GOBUILD_FLAGS) -tags $(LAMBDA_TAGS) -o "$(2)" ./functions/$(1)
endef

.PHONY: build build-fc build-lambda test vet bench fuzz clean \
	$(addprefix build-fc-,$(FUNCTIONS)) $(addprefix build-lambda-,$(FUNCTIONS)) \
	build-CallbackFunction build-NotifyFunction build-SyncFunction build-TokenRefresherFunction

build: build-fc build-lambda

build-fc: $(addprefix build-fc-,$(FUNCTIONS))

build-lambda: $(addprefix build-lambda-,$(FUNCTIONS))

# The rules are phony on purpose: go's build cache decides what is stale,
# make never skips a build on file timestamps.
$(addprefix build-fc-,$(FUNCTIONS)): build-fc-%:
	$(call fc-build,$*,$(DIST)/fc/$*/main)

$(addprefix build-lambda-,$(FUNCTIONS)): build-lambda-%:
	$(call lambda-build,$*,$(DIST)/lambda/$*/bootstrap)

# SAM (`sam build`, BuildMethod: makefile) runs these with ARTIFACTS_DIR set
# to the directory it zips for the function.
require-artifacts-dir = $(if $(ARTIFACTS_DIR),,$(error ARTIFACTS_DIR is not set: these targets are run by `sam build`; use `make build` for dist/))

build-CallbackFunction:
	$(require-artifacts-dir)
	$(call lambda-build,callback,$(ARTIFACTS_DIR)/bootstrap)

build-NotifyFunction:
	$(require-artifacts-dir)
	$(call lambda-build,notify,$(ARTIFACTS_DIR)/bootstrap)

build-SyncFunction:
	$(require-artifacts-dir)
	$(call lambda-build,sync,$(ARTIFACTS_DIR)/bootstrap)

build-TokenRefresherFunction:
	$(require-artifacts-dir)
	$(call lambda-build,token-refresher,$(ARTIFACTS_DIR)/bootstrap)

test:
	$(GO) test -race ./...

vet:
	$(GO) vet ./...

# The benchmark table README shows; CI runs it with BENCHFLAGS=--quick.
BENCHFLAGS ?=
bench:
	$(GO) run ./cmd/dingfn bench $(BENCHFLAGS)

# Every fuzz target, one after the other; CI runs them with FUZZTIME=3s.
# shared/deploy's tests hold this list to the Fuzz functions in the tree.
FUZZTIME ?= 1m
FUZZ_TARGETS := \
	shared/callback:FuzzHandler \
	shared/dingcrypto:FuzzDecrypt \
	shared/dingtalktest:FuzzRequests \
	shared/events:FuzzIdentity \
	shared/httpapi:FuzzDecodeJSON \
	shared/platform:FuzzEventDecoding \
	shared/redact:FuzzString \
	shared/store:FuzzCheckNames \
	shared/store/tablestoretest:FuzzDispatch \
	shared/store/tablestoretest/internal/plainbuf:FuzzDecodeRows
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== $$fn ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) ./$$pkg; \
	done

clean:
	rm -rf $(DIST) .aws-sam
