// Search augmentation: BM25 against hand-computed scores, chunking, HTML/PDF extraction, the local index
// (`phi3 index`) on a folder of made-up facts no model can know, augmentation of the tiny model's prompt
// with numbered sources, and the web providers against stand-in servers on 127.0.0.1 that speak
// SearXNG's and Brave's real JSON APIs. No traffic leaves loopback.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { loadModel, type Phi3 } from '../src/index.js';
import { augmentedQuestion, searchQuery } from '../src/search/augment.js';
import { Bm25 } from '../src/search/bm25.js';
import { chunkText } from '../src/search/chunk.js';
import { htmlToText, pdfToText } from '../src/search/extract.js';
import { fetchBounded } from '../src/search/fetch.js';
import { LocalSearch, buildIndex } from '../src/search/local.js';
import { SearchService, providerFromSpec } from '../src/search/service.js';
import { sStem, terms } from '../src/search/text.js';
import { BraveSearch, SearxngSearch } from '../src/search/web.js';
import { startServer } from '../src/server/server.js';
import { REFERENCE, REPO, tempDir } from './helpers.js';

/** A one-page PDF with real text objects (Helvetica), as a PDF writer would make it. */
function makePdf(lines: string[], title: string): Buffer {
  const esc = (s: string) => s.replace(/[\\()]/g, (c) => `\\${c}`);
  const content = `BT /F1 12 Tf 72 720 Td 14 TL ${lines.map((l) => `(${esc(l)}) Tj T*`).join(' ')} ET`;
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(content)} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Title (${esc(title)}) >>`,
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objs.forEach((o, i) => {
    offsets.push(Buffer.byteLength(out));
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out);
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

const FILLER = 'The weather was mild and the market sold bread, apples and cheese to travellers passing through. '.repeat(6);

function makeDocs(): string {
  const dir = tempDir('phi3-docs-');
  writeFileSync(join(dir, 'zorbania.md'), `# Zorbania\n\n${FILLER}\n\nThe capital of Zorbania is Quillport, founded in 1721 by herring fishermen.\n\n${FILLER}\n`);
  writeFileSync(
    join(dir, 'veltrano.html'),
    '<!doctype html><html><head><title>Mount Veltrano</title><script>var decoy = "capital of Zorbania Quillport";</script><style>p{}</style></head>' +
      `<body><nav>Home | About</nav><h1>Mount Veltrano</h1><p>${FILLER}</p><p>Mount Veltrano rises 5,432&nbsp;metres above the Grelmar valley &amp; its lakes.</p></body></html>`,
  );
  writeFileSync(join(dir, 'kettle.pdf'), makePdf(['The Brassfield kettle boils water in 42 seconds.', 'It was designed in Leeds.'], 'Brassfield Kettle Manual'));
  writeFileSync(join(dir, 'notes.txt'), `Gardening notes.\n\n${FILLER}\n\nTomatoes need sun.`);
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'lighthouse.txt'), "The Ormsby lighthouse keeper's cat is named Pickle. It sleeps by the lamp.");
  writeFileSync(join(dir, '.secret.md'), 'The password is hunter2.');
  writeFileSync(join(dir, 'broken.pdf'), 'this is not a pdf at all');
  return dir;
}

describe('text, BM25 and chunks', () => {
  it('terms: lower-cased, accents and stop words dropped, plurals folded', () => {
    assert.deepEqual(terms('The Cafés of Quillport are OPEN'), ['cafe', 'quillport', 'open']);
    assert.equal(sStem('queries'), 'query');
    assert.equal(sStem('boxes'), 'boxe');
    assert.equal(sStem('glass'), 'glass');
    assert.deepEqual(terms('東京都'), ['東京', '京都']);
  });

  it('BM25 scores match the formula computed by hand', () => {
    const bm = new Bm25();
    bm.add('apple banana apple');
    bm.add('banana cherry');
    bm.add('cherry cherry cherry date');
    // N = 3, avgdl = 3; "apple": df 1 → idf ln(1 + 2.5/1.5); doc 0: tf 2, dl 3.
    const idfApple = Math.log(1 + (3 - 1 + 0.5) / (1 + 0.5));
    const want0 = (idfApple * 2 * 2.2) / (2 + 1.2 * (1 - 0.75 + 0.75 * (3 / 3)));
    const hits = bm.search('apple', 5);
    assert.equal(hits.length, 1);
    assert.equal(hits[0].id, 0);
    assert.ok(Math.abs(hits[0].score - want0) < 1e-12);
    // "cherry": df 2; doc 2 has tf 3, dl 4; doc 1 tf 1, dl 2.
    const idfCherry = Math.log(1 + (3 - 2 + 0.5) / (2 + 0.5));
    const s2 = (idfCherry * 3 * 2.2) / (3 + 1.2 * (0.25 + 0.75 * (4 / 3)));
    const s1 = (idfCherry * 1 * 2.2) / (1 + 1.2 * (0.25 + 0.75 * (2 / 3)));
    const c = bm.search('cherries', 5);
    assert.deepEqual(
      c.map((h) => h.id),
      [2, 1],
    );
    assert.ok(Math.abs(c[0].score - s2) < 1e-12 && Math.abs(c[1].score - s1) < 1e-12);
    assert.deepEqual(Bm25.fromJSON(JSON.parse(JSON.stringify(bm.toJSON()))).search('cherry', 5), c);
  });

  it('chunks keep paragraphs together, cut long ones at sentences with overlap, and lose no words', () => {
    const long = Array.from({ length: 30 }, (_, i) => `Sentence number ${i} has exactly seven words.`).join(' ');
    const text = `Short intro.\n\nAnother short one.\n\n${long}\n\nThe end.`;
    const chunks = chunkText(text, { words: 50, overlap: 10 });
    assert.equal(chunks[0], 'Short intro.\n\nAnother short one.');
    for (const c of chunks) assert.ok(c.split(/\s+/).length <= 50, `chunk of ${c.split(/\s+/).length} words`);
    for (let i = 0; i < 30; i++) assert.ok(chunks.some((c) => c.includes(`Sentence number ${i} has exactly seven words.`)), `sentence ${i}`);
    assert.ok(chunks.some((c) => c.includes('The end.')));
  });

  it('HTML: visible text only, entities decoded, title kept', () => {
    const doc = htmlToText('<html><head><title>T &amp; C</title><script>alert(1)</script></head><body><nav>menu</nav><p>A&nbsp;b &lt;c&gt;</p><p>second</p></body></html>');
    assert.equal(doc.title, 'T & C');
    assert.equal(doc.text, 'A b <c>\n\nsecond');
  });

  it('PDF: the text of its pages and the title from its metadata (pdf.js)', async () => {
    const doc = await pdfToText(new Uint8Array(makePdf(['Hello PDF world.', 'Line two (with parens).'], 'My Title')), 'fallback');
    assert.equal(doc.title, 'My Title');
    assert.match(doc.text, /Hello PDF world\.\s+Line two \(with parens\)\./);
  });
});

describe('local index', () => {
  let dir: string;
  before(() => {
    dir = makeDocs();
  });

  it('indexes text, Markdown, HTML and PDF, skips hidden and unreadable files, and finds each fact in its source', async () => {
    const report = await buildIndex(dir);
    assert.equal(report.docs, 5);
    assert.deepEqual(
      report.skipped.map((s) => s.path),
      ['broken.pdf'],
    );
    const search = new LocalSearch(dir);
    const cases: [string, string, RegExp][] = [
      ['What is the capital of Zorbania?', 'zorbania.md', /Quillport/],
      ['How high is Mount Veltrano?', 'veltrano.html', /5,432 metres/],
      ['How fast does the Brassfield kettle boil water?', 'kettle.pdf', /42 seconds/],
      ["What is the lighthouse keeper's cat called?", 'sub/lighthouse.txt', /Pickle/],
    ];
    for (const [q, source, fact] of cases) {
      const hits = await search.search(q, 3);
      assert.equal(hits[0].source, source, q);
      assert.match(hits[0].text, fact);
    }
    const kettle = await search.search('Brassfield kettle', 1);
    assert.equal(kettle[0].title, 'Brassfield Kettle Manual');
    assert.equal((await search.search('hunter2 password', 3)).length, 0, 'hidden files are not indexed');
    assert.ok(!(await search.search('decoy', 3)).some((h) => /decoy/.test(h.text)), 'scripts are not indexed');
  });

  it('a rebuild re-reads only changed files', async () => {
    await buildIndex(dir);
    writeFileSync(join(dir, 'notes.txt'), 'Gardening notes, revised: the Zorbanian tomato is purple.');
    const report = await buildIndex(dir);
    assert.equal(report.reused, 4);
    assert.equal((await new LocalSearch(dir).search('Zorbanian tomato', 1))[0].source, 'notes.txt');
  });

  it('`phi3 index DIR --query` builds the index and prints the best passages as JSON', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), 'index', dir, '--json', '--query', 'capital of Zorbania'], { cwd: REPO, timeout: 60_000 });
    const out = JSON.parse(stdout);
    assert.equal(out.docs, 5);
    assert.equal(out.hits[0].source, 'zorbania.md');
  });
});

describe('augmentation with the tiny model', () => {
  let model: Phi3;
  let dir: string;
  before(async () => {
    model = await loadModel(join(REFERENCE, 'tiny-4k/model.gguf'));
    dir = makeDocs();
    await buildIndex(dir);
  });

  it('the question becomes a query; short follow-ups carry the previous question', () => {
    assert.equal(searchQuery([{ role: 'user', content: 'What is the capital of Zorbania?' }]), 'What is the capital of Zorbania?');
    assert.equal(
      searchQuery([
        { role: 'user', content: 'Tell me about Zorbania.' },
        { role: 'assistant', content: 'It is an island.' },
        { role: 'user', content: 'Its capital?' },
      ]),
      'Tell me about Zorbania. Its capital?',
    );
  });

  it('puts numbered sources into the prompt; the fact and its source come first', async () => {
    const service = new SearchService([new LocalSearch(dir)]);
    const messages = [{ role: 'user' as const, content: 'What is the capital of Zorbania?' }];
    const a = await service.augment({}, messages, { countTokens: (m) => model.chatPromptIds(m).length, contextSize: 4096 });
    assert.equal(a.sources[0].source, 'zorbania.md');
    assert.equal(a.sources[0].index, 1);
    assert.ok(a.sources[0].passages.some((p) => p.includes('The capital of Zorbania is Quillport')));
    const prompt = model.template.render(a.messages);
    assert.ok(prompt.startsWith('<|user|>\nSearch results:\n\n[1] Zorbania (zorbania.md)\n'), prompt.slice(0, 80));
    assert.match(prompt, /capital of Zorbania is Quillport/);
    assert.match(prompt, /cite each fact you take from them with its number in square brackets, like \[1\]/);
    assert.match(prompt, /Question: What is the capital of Zorbania\?<\|end\|>\n<\|assistant\|>\n$/);
    // The passages placed are exactly the sources' passages, in order.
    assert.equal(a.messages[0].content, augmentedQuestion('What is the capital of Zorbania?', a.sources));
  });

  it('keeps within the context budget, dropping passages that do not fit', async () => {
    const small = await loadModel(join(REFERENCE, 'tiny-4k/model.gguf'), { contextSize: 320 });
    const service = new SearchService([new LocalSearch(dir)], 8);
    const messages = [{ role: 'user' as const, content: 'What is the capital of Zorbania?' }];
    const wide = await service.augment({}, messages, { countTokens: (m) => model.chatPromptIds(m).length, contextSize: 4096 });
    const narrow = await service.augment({}, messages, { countTokens: (m) => small.chatPromptIds(m).length, contextSize: 320, answerTokens: 64 });
    assert.ok(small.chatPromptIds(narrow.messages).length <= 320 - 64);
    const count = (s: typeof wide.sources) => s.reduce((n, x) => n + x.passages.length, 0);
    assert.ok(count(narrow.sources) < count(wide.sources), `${count(narrow.sources)} < ${count(wide.sources)}`);
    assert.ok(narrow.sources.length >= 1);
  });

  it('the server searches when a request asks, returns the sources, and bills the augmented prompt', async () => {
    const server = await startServer({ model, port: 0, modelId: 'tiny', search: new SearchService([providerFromSpec(`local:${dir}`)]) });
    await server.ready;
    try {
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
      const messages = [{ role: 'user' as const, content: 'What is the capital of Zorbania?' }];
      const r = (await client.chat.completions.create({ model: 'tiny', messages, temperature: 0, max_tokens: 4, search: true } as never)) as unknown as OpenAI.ChatCompletion & {
        sources: { index: number; title: string; source: string; passages: string[] }[];
        search_query: string;
      };
      assert.equal(r.search_query, 'What is the capital of Zorbania?');
      assert.equal(r.sources[0].source, 'zorbania.md');
      const augmented = [{ role: 'user' as const, content: augmentedQuestion(messages[0].content, r.sources) }];
      assert.equal(r.usage!.prompt_tokens, model.chatPromptIds(augmented).length);
      assert.ok(r.usage!.prompt_tokens > model.chatPromptIds(messages).length + 20);
      // Streaming: the sources come with the first chunk.
      const stream = await client.chat.completions.create({ model: 'tiny', messages, temperature: 0, max_tokens: 2, stream: true, search: true } as never);
      const first = (await (stream as unknown as AsyncIterable<{ sources?: unknown[] }>)[Symbol.asyncIterator]().next()).value as { sources?: { source: string }[] };
      assert.equal(first.sources?.[0].source, 'zorbania.md');
      // Off unless asked: the same question without `search` is billed for the bare prompt.
      const plain = await client.chat.completions.create({ model: 'tiny', messages, temperature: 0, max_tokens: 1 });
      assert.equal(plain.usage!.prompt_tokens, model.chatPromptIds(messages).length);
      await assert.rejects(client.chat.completions.create({ model: 'tiny', messages, search: { provider: 'bing' } } as never), (e: unknown) => e instanceof OpenAI.BadRequestError && /no search provider "bing"/.test(e.message));
    } finally {
      await server.close();
    }
  });
});

/** A stand-in for SearXNG and Brave on 127.0.0.1, with result pages of its own. */
function standIn(): Promise<{ url: string; server: Server; requests: IncomingMessage[]; jsonEnabled: { value: boolean } }> {
  const requests: IncomingMessage[] = [];
  const jsonEnabled = { value: true };
  const server = createServer((req, res) => {
    requests.push(req);
    const u = new URL(req.url!, 'http://x');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const results = [
      { url: `${base}/pages/zorbania`, title: 'Zorbania — Wikipedia', content: 'Zorbania is an island nation in the north sea.', engine: 'duckduckgo', score: 1 },
      { url: `${base}/pages/weather`, title: 'Weather', content: 'Mild weather all year.', engine: 'bing', score: 0.5 },
    ];
    if (u.pathname === '/search') {
      if (u.searchParams.get('format') !== 'json' || !jsonEnabled.value) {
        res.writeHead(403).end('Forbidden');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ query: u.searchParams.get('q'), number_of_results: 2, results, answers: [], suggestions: [] }));
    } else if (u.pathname === '/res/v1/web/search') {
      if (req.headers['x-subscription-token'] !== 'brave-key') {
        res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"type":"ErrorResponse"}');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ type: 'search', query: { original: u.searchParams.get('q') }, web: { type: 'search', results: results.map((r) => ({ title: r.title, url: r.url, description: `<strong>${r.content}</strong>` })) } }));
    } else if (u.pathname === '/pages/zorbania') {
      const html = `<html><head><title>Zorbania</title></head><body><p>${FILLER}</p><p>The capital of Zorbania is Quillport, a harbour town.</p></body></html>`;
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Encoding': 'gzip' });
      res.end(gzipSync(html));
    } else if (u.pathname === '/pages/weather') {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end(`<p>${FILLER}</p>`);
    } else if (u.pathname === '/big') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('x'.repeat(100_000));
    } else if (u.pathname === '/hang') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('partial'); // and never ends
    } else if (u.pathname.startsWith('/loop')) {
      res.writeHead(302, { Location: `/loop${Number(u.pathname.slice(5) || 0) + 1}` }).end();
    } else res.writeHead(404).end();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, requests, jsonEnabled })),
  );
}

describe('web providers against stand-ins on 127.0.0.1', () => {
  let s: Awaited<ReturnType<typeof standIn>>;
  before(async () => {
    s = await standIn();
  });
  after(() => {
    s.server.closeAllConnections();
    s.server.close();
  });

  it('SearXNG: asks /search?q=…&format=json, reads the result pages, keeps the passages that match', async () => {
    const searx = new SearxngSearch(s.url, { allowPrivatePages: true });
    const hits = await searx.search('What is the capital of Zorbania?', 3);
    const q = s.requests.find((r) => r.url!.startsWith('/search'))!;
    const params = new URL(q.url!, 'http://x').searchParams;
    assert.equal(params.get('q'), 'What is the capital of Zorbania?');
    assert.equal(params.get('format'), 'json');
    assert.equal(hits[0].source, `${s.url}/pages/zorbania`);
    assert.match(hits[0].text, /capital of Zorbania is Quillport/, 'a passage from the fetched (gzip) page, not the snippet');
  });

  it('result pages on private addresses are not fetched unless allowed; the snippets are used', async () => {
    const before = s.requests.length;
    const hits = await new SearxngSearch(s.url).search('Zorbania island', 3);
    assert.ok(s.requests.slice(before).every((r) => r.url!.startsWith('/search')), 'only the search API was called');
    assert.equal(hits[0].text, 'Zorbania is an island nation in the north sea.');
  });

  it('SearXNG without the json format enabled: a clear error; through the server a 502', async () => {
    s.jsonEnabled.value = false;
    try {
      await assert.rejects(new SearxngSearch(s.url).search('x', 3), /HTTP 403 \(enable the json format/);
      const model = await loadModel(join(REFERENCE, 'tiny-4k/model.gguf'));
      const server = await startServer({ model, port: 0, modelId: 'tiny', search: new SearchService([providerFromSpec(`searxng:${s.url}`)]) });
      await server.ready;
      try {
        const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
        await assert.rejects(
          client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], search: true } as never),
          (e: unknown) => e instanceof OpenAI.APIError && e.status === 502 && /search with searxng failed/.test(e.message),
        );
      } finally {
        await server.close();
      }
    } finally {
      s.jsonEnabled.value = true;
    }
  });

  it('Brave: the key goes in X-Subscription-Token; results come from web.results', async () => {
    const hits = await new BraveSearch('brave-key', s.url, { pages: 0 }).search('Zorbania island nation', 2);
    assert.equal(hits[0].title, 'Zorbania — Wikipedia');
    assert.equal(hits[0].text, 'Zorbania is an island nation in the north sea.', 'markup stripped from the description');
    const q = s.requests.filter((r) => r.url!.startsWith('/res/v1/web/search')).pop()!;
    assert.equal(new URL(q.url!, 'http://x').searchParams.get('q'), 'Zorbania island nation');
    await assert.rejects(new BraveSearch('wrong', s.url).search('x', 2), /HTTP 401 \(check the API key\)/);
    assert.throws(() => providerFromSpec('brave:ftp://x', { key: 'k' }), /http\(s\) URL/);
    assert.throws(() => providerFromSpec('bing:http://x'), /unknown search provider/);
  });

  it('fetches are bounded: size, time, redirects, and private addresses', async () => {
    const big = await fetchBounded(`${s.url}/big`, { allowPrivate: true, maxBytes: 1000 });
    assert.equal(big.body.length, 1000);
    assert.ok(big.truncated);
    const t0 = performance.now();
    await assert.rejects(fetchBounded(`${s.url}/hang`, { allowPrivate: true, timeoutMs: 300 }), /within 300 ms/);
    assert.ok(performance.now() - t0 < 2000);
    await assert.rejects(fetchBounded(`${s.url}/loop`, { allowPrivate: true, maxRedirects: 3 }), /more than 3 redirects/);
    const before = s.requests.length;
    await assert.rejects(fetchBounded(`${s.url}/big`), /non-public address/);
    await assert.rejects(fetchBounded('http://localhost:1/'), /non-public address/);
    await assert.rejects(fetchBounded('file:///etc/passwd'), /only http and https/);
    assert.equal(s.requests.length, before, 'nothing was sent to a private address');
  });
});
