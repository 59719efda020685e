// Phi-3-small's blocksparse attention layout (LocalStridedBlockSparseAttn, FACTS.md §4.4), as a table of
// the key blocks each (query head, query block) may read. Attention kernels walk only those blocks, so a
// long context costs local_blocks + n/vert_stride blocks per query instead of n.
//
//   block(p) = floor(p / blockSize)
//   step     = homo_head ? 0 : max(1, floor(vert_stride / num_heads))      (counted in query heads)
//   allowed(qb, kb, h) = kb <= qb && (qb − kb < local_blocks || (kb + h·step + 1) % vert_stride == 0)
//   and inside an allowed block pair the token rule key_pos <= query_pos.
//
// `h` is the global query-head index. Tested by test/phi3-small-layout.test.ts against a hand-derived
// table and against the layout Microsoft's code built (../shared/reference/tiny-small/attention_masks.json).

export interface BlockSparseParams {
  blockSize: number;
  localBlocks: number;
  vertStride: number;
  homoHeadPattern: boolean;
  numHeads: number;
}

/** The allowed key blocks per (head, query block), in CSR form (row = h·numBlocks + qb, keys ascending). */
export interface BlockSparseLayout {
  blockSize: number;
  numBlocks: number;
  numHeads: number;
  /** numHeads·numBlocks + 1 offsets into `cols`. */
  rowPtr: Int32Array;
  cols: Int32Array;
}

export function headSlidingStep(p: BlockSparseParams): number {
  return p.homoHeadPattern ? 0 : Math.max(1, Math.floor(p.vertStride / p.numHeads));
}

/** The published rule, one block pair at a time. */
export function blockAllowed(p: BlockSparseParams, h: number, qb: number, kb: number): boolean {
  if (kb > qb) return false;
  return qb - kb < p.localBlocks || (kb + h * headSlidingStep(p) + 1) % p.vertStride === 0;
}

/** The layout for sequences of up to `maxPositions` tokens. */
export function buildLayout(p: BlockSparseParams, maxPositions: number): BlockSparseLayout {
  const numBlocks = Math.ceil(maxPositions / p.blockSize);
  const rowPtr = new Int32Array(p.numHeads * numBlocks + 1);
  const cols: number[] = [];
  for (let h = 0; h < p.numHeads; h++)
    for (let qb = 0; qb < numBlocks; qb++) {
      for (let kb = 0; kb <= qb; kb++) if (blockAllowed(p, h, qb, kb)) cols.push(kb);
      rowPtr[h * numBlocks + qb + 1] = cols.length;
    }
  return { blockSize: p.blockSize, numBlocks, numHeads: p.numHeads, rowPtr, cols: Int32Array.from(cols) };
}

/** Key blocks query head h reads from query block qb. */
export function keyBlocks(l: BlockSparseLayout, h: number, qb: number): Int32Array {
  const r = h * l.numBlocks + qb;
  return l.cols.subarray(l.rowPtr[r], l.rowPtr[r + 1]);
}
