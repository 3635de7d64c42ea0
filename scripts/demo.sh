#!/usr/bin/env bash
# Quick start: set up .venv/, translate the bundled ResNet sample to Keras and verify it numerically.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
.venv/bin/fwtranslate samples/torch/resnet.py --to tf -o out/resnet_tf.py --report-json out/resnet_report.json
.venv/bin/fwtranslate verify samples/torch/resnet.py out/resnet_tf.py --entry ResNet --input-shape 2,3,32,32 --examples 10
