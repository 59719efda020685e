// Training objectives, each as (per-token log-probs from TrainModel.forward) → (loss, metrics, dL/dlogp
// for TrainModel.backward). Cross-entropy serves pretraining and SFT (the mask is in the targets: −1 =
// not scored); DPO is Rafailov et al. 2023, eq. 7: −log σ(β·[(log π(y_w) − log π_ref(y_w)) −
// (log π(y_l) − log π_ref(y_l))]). Tested by test/train.test.ts (DPO against a hand-derived value).

/** Mean negative log-likelihood over scored rows; `scale` multiplies the gradient (1/accumulation). */
export function crossEntropy(logp: Float64Array, targets: Int32Array, scale = 1): { loss: number; count: number; dlogp: Float64Array } {
  let count = 0;
  let sum = 0;
  for (let t = 0; t < targets.length; t++) {
    if (targets[t] < 0) continue;
    count++;
    sum -= logp[t];
  }
  const dlogp = new Float64Array(logp.length);
  if (count > 0) for (let t = 0; t < targets.length; t++) if (targets[t] >= 0) dlogp[t] = -scale / count;
  return { loss: count > 0 ? sum / count : 0, count, dlogp };
}

/** Sum of log-probs of the scored rows of each of `batch` sequences of seqLen rows. */
export function sequenceLogp(logp: Float64Array, targets: Int32Array, batch: number, seqLen: number): Float64Array {
  const out = new Float64Array(batch);
  for (let b = 0; b < batch; b++) for (let t = b * seqLen; t < (b + 1) * seqLen; t++) if (targets[t] >= 0) out[b] += logp[t];
  return out;
}

export interface DpoResult {
  loss: number;
  /** β·(log π − log π_ref) of chosen / rejected, averaged over pairs. */
  chosenReward: number;
  rejectedReward: number;
  margin: number;
  /** Fraction of pairs whose chosen reward exceeds the rejected one. */
  accuracy: number;
  dlogp: Float64Array;
}

const logSigmoid = (z: number) => (z >= 0 ? -Math.log1p(Math.exp(-z)) : z - Math.log1p(Math.exp(z)));
const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * DPO over a batch laid out as pairs: sequence 2i is the chosen answer, 2i+1 the rejected one.
 * `refSeqLogp` are the frozen reference model's sequence log-probs of the same batch.
 */
export function dpoLoss(
  logp: Float64Array,
  refSeqLogp: Float64Array,
  targets: Int32Array,
  batch: number,
  seqLen: number,
  beta: number,
  scale = 1,
): DpoResult {
  if (batch % 2 !== 0) throw new Error('a DPO batch holds (chosen, rejected) pairs: its size must be even');
  const pol = sequenceLogp(logp, targets, batch, seqLen);
  const pairs = batch / 2;
  const dlogp = new Float64Array(logp.length);
  let loss = 0, cr = 0, rr = 0, acc = 0;
  for (let i = 0; i < pairs; i++) {
    const rc = beta * (pol[2 * i] - refSeqLogp[2 * i]);
    const rj = beta * (pol[2 * i + 1] - refSeqLogp[2 * i + 1]);
    const z = rc - rj;
    loss -= logSigmoid(z);
    cr += rc;
    rr += rj;
    if (z > 0) acc++;
    // dL/dz = −σ(−z); dz/dlogπ(chosen) = β, dz/dlogπ(rejected) = −β
    const g = (-sigmoid(-z) * beta * scale) / pairs;
    for (let t = 2 * i * seqLen; t < (2 * i + 1) * seqLen; t++) if (targets[t] >= 0) dlogp[t] = g;
    for (let t = (2 * i + 1) * seqLen; t < (2 * i + 2) * seqLen; t++) if (targets[t] >= 0) dlogp[t] = -g;
  }
  return { loss: loss / pairs, chosenReward: cr / pairs, rejectedReward: rr / pairs, margin: (cr - rr) / pairs, accuracy: acc / pairs, dlogp };
}
