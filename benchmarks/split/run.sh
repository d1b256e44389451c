#!/usr/bin/env bash
# The full "split under load" run of docs/deployments.md: 32 connections (16 to a cosmo-server,
# 16 to a cosmo-gateway) for 30 s while the split flips between 0% and 100% every second; it
# fails if any request fails. The test suite runs the same test for 6 s.
#
#   benchmarks/split/run.sh [BUILD_DIR]      (default: build)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
COSMO_SPLIT_LOAD_SECONDS=${COSMO_SPLIT_LOAD_SECONDS:-30} \
  "$build/tests/integration/split_test" --gtest_filter='*UnderLoad*'
