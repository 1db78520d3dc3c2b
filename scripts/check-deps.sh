#!/usr/bin/env bash
# The dataflow crate is pure: it must not pull async runtimes, gRPC, protobuf, Envoy protos or
# Kubernetes clients. `ingest` and `emit` never depend on each other; `emit` never on `crds`.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
tree=$(cargo tree -p sluice-dataflow -e normal --prefix none)
for banned in tokio tonic prost envoy-types kube-client hyper; do
  if grep -qE "^${banned} v" <<<"$tree"; then
    echo "sluice-dataflow depends on ${banned}"; fail=1
  fi
done
emit_tree=$(cargo tree -p sluice-emit -e normal --prefix none --depth 1)
for banned in sluice-ingest sluice-crds; do
  if grep -qE "^${banned} v" <<<"$emit_tree"; then echo "sluice-emit depends on ${banned}"; fail=1; fi
done
if cargo tree -p sluice-ingest -e normal --prefix none --depth 1 | grep -qE '^sluice-emit v'; then
  echo "sluice-ingest depends on sluice-emit"; fail=1
fi
[ "$fail" = 0 ] && echo "dependency direction ok"
exit "$fail"
