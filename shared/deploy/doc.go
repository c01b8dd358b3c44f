// Package deploy describes the deployable bundle: the four functions, where
// `make build` puts each artifact, how each one is reached (HTTP or timer),
// how it is sized, and which configuration variables each deploy
// descriptor must wire for it.
//
// It is the single statement of intent that the repository's three build
// and deploy files are held to. The package's tests parse s.yaml (Serverless
// Devs, Function Compute 3.0), template.yaml (AWS SAM, parsed with
// goformation) and run the Makefile, and fail when any of them drifts from
// this description or from the configuration contract in shared/config.
//
// Two platforms, one bundle:
//
//   - Function Compute (FC): runtime go1, linux/amd64 executables named
//     main under dist/fc/<function>/. Tablestore credentials come from the
//     function's RAM role, which FC injects as ALIBABA_CLOUD_ACCESS_KEY_ID,
//     ALIBABA_CLOUD_ACCESS_KEY_SECRET and ALIBABA_CLOUD_SECURITY_TOKEN, so
//     s.yaml never wires those three.
//   - AWS Lambda: runtime provided.al2023 on arm64, executables named
//     bootstrap under dist/lambda/<function>/ (or SAM's ARTIFACTS_DIR).
//     Tablestore credentials come from NoEcho stack parameters.
package deploy
