# dingfn build.
#
#   make build   all eight deployable artifacts:
#                  dist/fc/<function>/main          linux/amd64, FC runtime go1
#                  dist/lambda/<function>/bootstrap linux/arm64, Lambda provided.al2023
#   make test    the test suite (go test -race ./...)
#   make vet     go vet ./...
#   make clean   remove dist/ and SAM's .aws-sam/
#
# Builds are reproducible: the same sources and Go toolchain give the same
# bytes on any machine and in any directory (no cgo, no file paths, no VCS
# stamp, no build id, fixed GOAMD64/GOARM64 levels). shared/deploy's tests
# check this.
#
# s.yaml's pre-deploy actions call build-fc-<function>; SAM's
# `BuildMethod: makefile` calls build-<LogicalId> with ARTIFACTS_DIR set.
# Both go through the same go-build macros below.

GO       ?= go
DIST     ?= dist
FUNCTIONS := callback notify sync token-refresher

# Flags every artifact is built with; shared/deploy's tests read the result
# back from the binaries' build info.
GOBUILD_FLAGS := -trimpath -buildvcs=false -ldflags '-s -w -buildid='

# $(call fc-build,function,output): Function Compute go1 runs linux/amd64.
define fc-build
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOAMD64=v1 \
		$(GO) build $(GOBUILD_FLAGS) -o "$(2)" ./functions/$(1)
endef

# $(call lambda-build,function,output): provided.al2023 on Graviton runs an
# executable named bootstrap; lambda.norpc drops aws-lambda-go's unused
# net/rpc mode (smaller binary, nothing listening).
define lambda-build
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 GOARM64=v8.0 \
		$(GO) build $(GOBUILD_FLAGS) -tags lambda.norpc -o "$(2)" ./functions/$(1)
endef

.PHONY: build build-fc build-lambda test vet clean \
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

clean:
	rm -rf $(DIST) .aws-sam
