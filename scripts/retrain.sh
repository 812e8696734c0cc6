#!/usr/bin/env bash
# The next retraining of the shipped FIP weights, from scratch, as one command (fip_ros/weights/MODEL_CARD.md
# "Next retraining"): build the dataset, train (GPU when there is one; resumable), score the best checkpoint
# on the test split. Nothing is copied over the shipped weights: that stays a decision (MODEL_CARD.md).
#
#   scripts/retrain.sh [RUN]          RUN folder, default runs/fip_<config>
#   env CONFIG=default|paper          network size (fip_ros/fip/config.py), default: default
#       STEPS=40000 BATCH=64          optimiser steps and windows per step
#       DEVICE=auto|cuda|cpu          default auto (cuda when available)
#       THREADS=1                     torch CPU threads of the training process
#       SAMPLERS=                     batch-building processes (augmentation, IMU synthesis on the CPU),
#                                     default: all CPUs but one (0 on a single CPU)
#       MAX_MINUTES=                  stop and save after this wall time (resume later with RESUME=1)
#       STOP_AT=                      stop and save after this step (the schedule stays that of STEPS)
#       RESUME=1                      continue RUN from its last.pt and train_state.pt
#       INIT=CKPT LR=1e-3 SEED=0      start from CKPT's weights (fresh schedule), peak rate, seed
#       EMA=0.999                     best.pt from the moving average of the weights (0: the raw ones)
#       AUGMENT='{"arm_raise_p": 0}'  AugmentConfig fields to change (JSON)
set -euo pipefail
CONFIG=${CONFIG:-default}
RUN=${1:-runs/fip_${CONFIG}}
STEPS=${STEPS:-40000}
SAMPLERS=${SAMPLERS:-$(( $(nproc) > 1 ? $(nproc) - 1 : 0 ))}
BATCH=${BATCH:-64}
cd "$(dirname "$0")/.."
fip-dataset --out .cache/dataset --workers "${WORKERS:-1}"
fip-train --data .cache/dataset --out "$RUN" --config "$CONFIG" --steps "$STEPS" --batch "$BATCH" \
  --window 180 --lr "${LR:-1e-3}" --device "${DEVICE:-auto}" --threads "${THREADS:-1}" --seed "${SEED:-0}" \
  --workers "$SAMPLERS" --ema "${EMA:-0.999}" \
  --eval-every 1000 --ckpt-every 500 ${MAX_MINUTES:+--max-minutes "$MAX_MINUTES"} ${STOP_AT:+--stop-at "$STOP_AT"} ${RESUME:+--resume} ${INIT:+--init "$INIT"} \
  ${AUGMENT:+--augment "$AUGMENT"}
fip-eval --weights "$RUN/best.pt" --data .cache/dataset --split test --out "$RUN/eval"
