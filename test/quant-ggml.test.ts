// Golden vectors from the real ggml: our codecs must be byte-identical to llama.cpp's reference code.
//
// Provenance of every hash below: ggml's own libggml-base.so (ggml commit 0ad4a86, the x86-64 build
// shipped in the npm package @node-llama-cpp/linux-x64@3.22.1, plain SSE, no FMA), driven by a throwaway
// C harness that fed it the inputs generated here (goldenInputs, randomBlocks: same code, same seeds),
// called `quantize_row_<type>_ref`, `dequantize_row_<type>`, `ggml_fp32_to_fp16` and `ggml_fp32_to_bf16`,
// and wrote the raw outputs, which were hashed with SHA-256. The library is not needed to run this test.
// The generator uses only + - * / floor sqrt (no Math.log/cos), so the inputs are the same bits everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { getCodec, GGMLType } from '../src/quant/index.js';
import { f32FromBits, f32ToBf16, f32ToFp16 } from '../src/quant/half.js';
import { mulberry32 } from './helpers.js';

/** 256-value blocks cycling through 16 kinds of data that reach every branch of the quantizers. */
function goldenInputs(nBlocks: number): Float32Array {
  const r = mulberry32(20240611);
  const g = () => (r() + r() + r() + r() - 2) * 1.7320508075688772; // roughly N(0, 1)
  const x = new Float32Array(nBlocks * 256);
  for (let b = 0; b < nBlocks; b++) {
    for (let i = 0; i < 256; i++) {
      let v: number;
      switch (b % 16) {
        case 0: v = g(); break;
        case 1: v = 0.02 * g(); break; // typical weight scale
        case 2: v = 2 * r() - 1; break;
        case 3: v = 0.5 + 1.5 * r(); break; // all positive: the min is clipped to 0
        case 4: v = -(0.1 + r()); break; // all negative
        case 5: v = 0.37; break; // constant: max == min
        case 6: v = 0; break;
        case 7: v = 1e-20 * g(); break; // below GROUP_MAX_EPS
        case 8: v = i === 77 ? 1000 : g(); break; // one outlier
        case 9: v = r() < 0.1 ? g() : 0; break; // sparse
        case 10: v = 0.5 * (Math.floor(r() * 33) - 16); break; // half-integers: rounding ties
        case 11: v = g() * 2 ** (Math.floor(r() * 24) - 12); break; // wide dynamic range
        case 12: v = (i >> 4) % 3 === 0 ? 0 : g(); break; // all-zero sub-blocks
        case 13: v = 1e-6 * g(); break; // fp16-subnormal scales
        case 14: v = Math.floor(r() * 16) / 8 - 1; break; // a coarse grid
        default: v = i >> 5 === 3 ? 50 * g() : 1e-3 * g(); break; // one loud sub-block
      }
      x[b * 256 + i] = v;
    }
  }
  return x;
}

/** Random block bytes with finite fp16 scales (exponent bit 2 of the high byte cleared: exponent <= 30). */
function randomBlocks(typeSize: number, nBlocks: number, fp16At: readonly number[], seed: number): Uint8Array {
  const r = mulberry32(seed);
  const q = new Uint8Array(typeSize * nBlocks);
  for (let i = 0; i < q.length; i++) q[i] = Math.floor(r() * 256);
  for (let b = 0; b < nBlocks; b++) for (const at of fp16At) q[b * typeSize + at + 1] &= 0xfb;
  return q;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const f32Bytes = (y: Float32Array) => new Uint8Array(y.buffer, y.byteOffset, y.byteLength);

interface Golden {
  type: GGMLType;
  fp16At: readonly number[];
  seed: number;
  /** sha256 of quantize_row_<type>_ref(goldenInputs(48)). */
  quantized: string;
  /** sha256 of dequantize_row_<type> of that (float32 little-endian). */
  roundTrip: string;
  /** sha256 of dequantize_row_<type>(randomBlocks(typeSize, 16, fp16At, seed)). */
  rawDecoded: string;
  /** The first block of `quantized`, in full, to show what differs when the hash does not match. */
  firstBlock: string;
}

const GOLDEN: Golden[] = [
  {
    type: GGMLType.Q4_0,
    fp16At: [0],
    seed: 1001,
    quantized: 'c51e496aa6f2683f4d776ff665ae5a3ffef43a5808fc9e0e1736b972f691289b',
    roundTrip: '2188cafaf3ecbb8eb178d6f58fe7508565745320d936b503f9e28009c9e70477',
    rawDecoded: '57f0564e656cb8df000067b00479430794c54853c9db37e28bc49ae3726d4098',
    firstBlock: 'e83456866a2c5aa8887510b56a8a8d8a9a55',
  },
  {
    type: GGMLType.Q8_0,
    fp16At: [0],
    seed: 1002,
    quantized: '2971c59f138d70a97195e87fc48aafc098157ea5f88c575c9b9838aba59ed183',
    roundTrip: 'a9adfc1a7de6eb0c06232633e656b14dff35ee230d39d35c180c4877efc45b7a',
    rawDecoded: '74ad9a67c7c6282e3741d71f1265aa9a70f498ea1766229fdf6cc9e41bf35043',
    firstBlock: 'f124dce4283f1afdfdcb81cf2422491a1bd1cef9dfa7d41afdef9737dafe010809d1',
  },
  {
    type: GGMLType.Q4_K,
    fp16At: [0, 2],
    seed: 1003,
    quantized: '594c04dcc1e420744c1c26909fb38e96a6f66ec5ef649db94ddf1bae7538b21b',
    roundTrip: '270f20b8dc33282a98be69397cbbfdd60af74ed221b25280cde5f9fcfc354905',
    rawDecoded: '4ec597c314d9a4d468326c7296560435653048e016d47145905194cee36013c5',
    firstBlock:
      'b71d7729b1b1e1b8bba7e7bfa145ff2777073cbe0bb9f955c066dc6c7e8b4b46167967b3e60b398852dd7799399a0a565d8a78a3a2b99b68' +
      'ea8e9287beaa3353c16bac0c27a0f0b98c69a49d91b9d19a9cb24da96e26a06e99b286da2d87b76c097d899d7a394f689828c61965caf575' +
      '4695a9a835c2d4758733eba4854b6a7e230ec9600670343b941b7777042a9727',
  },
  {
    type: GGMLType.Q5_K,
    fp16At: [0, 2],
    seed: 1004,
    quantized: '1c0bac872fcedb690656a1f2f783d7a62dc89f9e5cb77bce31c652676868d75b',
    roundTrip: '92a9343cd67356175923f1c8986031c041f2ac0f1f2d7510567afd09ec6b7b12',
    rawDecoded: '80adcf30193ff3e290489f771e0c52ab60c8e1790c2e76c85c8f909c6fee0fe8',
    firstBlock:
      '2819a529b1b6e0beb7a7e6bf9549cf2834acd5fb198faf14fe2cebbd9d6f61d01855fc361619195fbc57a81f097fa94cee1f6a6e0863f3ab' +
      '80dcb9c9ef18888c3ce3df66dd186311a3bcee23742515acbe26f35745653ad3c60f35106f5778a682c95b0a5040f0640cd4492e3264a226' +
      '27648a42cb4c50cc23651cb4591d6fc901fa023bf4629ed021519b32da95fbea9d4b64617bb4d8fb2086f8681aa8e70f461fa3e00ef07868' +
      '49380fff0a564f50',
  },
  {
    type: GGMLType.Q6_K,
    fp16At: [208],
    seed: 1005,
    quantized: 'd6ab3f765e506e82a472c2d8d4ace648f48c8cf0c55cfd50c5358abc064c1d8b',
    roundTrip: 'd1db8d4e450e537df495f813d41fe764f744f949d9b98f51b5d47fd9b76bed51',
    rawDecoded: '3837a0774a9b434a9d8ee6db9196c01dc6fa71d6f800800e882a0199611ef316',
    firstBlock:
      '2729ca40171fafd33064096962476724316ea69582080ffbb0f1e4ff30f22322bff47ba065d03114fdc028d0dda818a7b25e501e90367c89' +
      'c4754e162b76f61477d6abeeddb420cf2f780331ea063819b7bd450aae1301ea27f8d8d32b9cd9fcb6622d3ef8916f17b7d3143fd4a321d6' +
      'af328ff811120dd5aa752c0924beb1a4356d5a878ea5a159e079825ab7a60a098d65a920118ec995685385a58a968ea9aa6c5259a63138a6' +
      '69bc197e62999d460e38e644198e582a962e939e1b21931b92a57566c7b6b580af2dc94a6a894cbbb291',
  },
];

const inputs = goldenInputs(48);

for (const g of GOLDEN) {
  const codec = getCodec(g.type);
  test(`${codec.name}: quantize is byte-identical to ggml quantize_row_${codec.name.replace(/^Q/, "q")}_ref`, () => {
    const q = codec.quantize(inputs, inputs.length);
    assert.equal(Buffer.from(q.subarray(0, codec.typeSize)).toString('hex'), g.firstBlock);
    assert.equal(sha256(q), g.quantized);
    const y = new Float32Array(inputs.length);
    codec.dequantize(q, 0, y, 0, y.length);
    assert.equal(sha256(f32Bytes(y)), g.roundTrip);
  });
  test(`${codec.name}: dequantize of arbitrary blocks is bit-identical to ggml dequantize_row_${codec.name.replace(/^Q/, "q")}`, () => {
    const raw = randomBlocks(codec.typeSize, 16, g.fp16At, g.seed);
    const y = new Float32Array(16 * codec.blockSize);
    codec.dequantize(raw, 0, y, 0, y.length);
    assert.equal(sha256(f32Bytes(y)), g.rawDecoded);
  });
}

test('fp16 and bf16 encoding match ggml on every 1021st float32 bit pattern (incl. NaN, inf, subnormals)', () => {
  const count = Math.floor((2 ** 32 - 1) / 1021) + 1;
  const h = new Uint8Array(2 * count);
  const b = new Uint8Array(2 * count);
  for (let k = 0; k < count; k++) {
    const f = f32FromBits(k * 1021);
    const x = f32ToFp16(f);
    const y = f32ToBf16(f);
    h[2 * k] = x & 0xff;
    h[2 * k + 1] = x >> 8;
    b[2 * k] = y & 0xff;
    b[2 * k + 1] = y >> 8;
  }
  assert.equal(sha256(h), 'a8ca78e2ef087a70c6e0b9e3c7d17902845e65965d4246533eaa97cfbf6ee165');
  assert.equal(sha256(b), 'b879c36f06d0a3d87456a5e2fe82f00bacb4f9deff96ff6844ccf1c731ada79a');
});
