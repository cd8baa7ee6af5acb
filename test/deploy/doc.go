// Package deploy holds the offline validation of loggy's Kubernetes manifests (deploy/), its
// image recipe (distribution/Dockerfile) and its deploy documentation. Everything is in the
// tests; run them with `make test-deploy` from the repository root, which builds the collector
// and installs the pinned kustomize first and passes both by environment (LOGGY_BIN,
// KUSTOMIZE_BIN). A missing binary fails the tests, it never skips them. The runtime test
// (runtime_test.go) also needs root, unshare and setpriv. It is a module of its own so that the Kubernetes API types stay out of the
// collector's dependency graph.
package deploy
