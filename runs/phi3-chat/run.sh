#!/bin/sh
# Reproduces the embedded chat model models/phi3-chat.gguf end to end (see models/README.md):
# tokenizer → pretraining phase 1 → phase 2 → SFT → DPO → GGUF. Every stage resumes after a kill
# (rerun this script). Outputs land in runs/phi3-chat/out/ (not committed).
set -e
cd "$(dirname "$0")"
PHI3="node --import tsx ../../src/cli/main.ts"
[ -f tokenizer/tokenizer.json ] || $PHI3 tokenizer train --synth basic,arithmetic,units,logic --synth-count 3000 --vocab-size 1024 --out tokenizer
$PHI3 train pretrain --config run.json --resume
$PHI3 train sft --init out/phase2.ckpt --out out --data synth:basic --steps 400 --batch 8 --seq-len 48 --lr 0.001 --warmup 10 --resume
$PHI3 train dpo --init out/sft.ckpt --out out --data synth:basic --steps 50 --batch 8 --seq-len 48 --lr 0.00005 --beta 0.1 --resume
$PHI3 export out/dpo.ckpt out/phi3-chat.gguf --type q8_0 --name "phi3 tiny chat (trained on synthetic arithmetic)"
