// The chat page in a real browser (Debian's chromium driven by playwright-core) against the server on
// 127.0.0.1 with the tiny-4k model and a local search index: ask, watch tokens stream in, stop,
// reload and find the conversation, regenerate, search with sources, Markdown rendered safely, and a
// phone-sized layout. Screenshots go to test-artifacts/. Skipped, saying why, only if no chromium.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadModel, type GenerationResult, type Phi3 } from '../src/index.js';
import { buildIndex } from '../src/search/local.js';
import { SearchService, providerFromSpec } from '../src/search/service.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { REFERENCE, REPO, tempDir } from './helpers.js';

const CHROMIUM = process.env.PHI3_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(REPO, 'test-artifacts');
const skip = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium) or set PHI3_CHROMIUM`;
const QUESTION = 'Tell me a long story about the sea.';

let model: Phi3;
let server: RunningServer;
let browser: Browser;
let greedy: GenerationResult;
const pageErrors: string[] = [];

async function greedyLength(q: string, max: number): Promise<GenerationResult> {
  const g = model.chat([{ role: 'user', content: q }], { maxTokens: max });
  for (;;) {
    const r = await g.next();
    if (r.done) return r.value;
  }
}

async function openPage(viewport = { width: 1280, height: 820 }, mobile = false): Promise<Page> {
  const context = await browser.newContext({ viewport, isMobile: mobile, hasTouch: mobile, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  await page.goto(server.url);
  await page.waitForFunction(() => document.getElementById('model-name')?.textContent?.startsWith('tiny'));
  return page;
}

async function setSettings(page: Page, s: { temperature?: string; maxTokens?: string }): Promise<void> {
  await page.click('#open-settings-top');
  if (s.temperature !== undefined) await page.fill('#s-temperature', s.temperature);
  if (s.maxTokens !== undefined) await page.fill('#s-max-tokens', s.maxTokens);
  await page.click('#s-save');
  await page.waitForSelector('#settings', { state: 'hidden' });
}

const answerText = (page: Page) => page.evaluate(() => Array.from(document.querySelectorAll('.msg.assistant .bubble')).pop()?.textContent ?? '');
const lastMeta = (page: Page) => page.evaluate(() => Array.from(document.querySelectorAll('.msg.assistant .meta')).pop()?.textContent ?? '');

describe('chat page in Chromium', { skip }, () => {
  before(async () => {
    model = await loadModel(join(REFERENCE, 'tiny-4k/model.gguf'));
    greedy = await greedyLength(QUESTION, 300);
    assert.equal(greedy.finishReason, 'length', 'precondition: the greedy answer runs long enough to be stopped');
    const docs = tempDir('phi3-web-docs-');
    writeFileSync(join(docs, 'zorbania.md'), '# Zorbania\n\nThe capital of Zorbania is Quillport, founded in 1721.\n');
    writeFileSync(join(docs, 'other.md'), '# Gardening\n\nTomatoes need sun and water.\n');
    await buildIndex(docs);
    server = await startServer({ model, port: 0, modelId: 'tiny-4k', search: new SearchService([providerFromSpec(`local:${docs}`)]) });
    await server.ready;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('streams an answer, stops it, and finds the conversation after a reload', async () => {
    const page = await openPage();
    await setSettings(page, { temperature: '0', maxTokens: '0' });
    await page.fill('#input', QUESTION);
    await page.press('#input', 'Enter');
    await page.waitForSelector('#stop', { state: 'visible' });
    await page.waitForFunction(() => (Array.from(document.querySelectorAll('.msg.assistant .bubble')).pop()?.textContent ?? '').length > 0);
    const first = (await answerText(page)).length;
    await page.waitForFunction((n) => (Array.from(document.querySelectorAll('.msg.assistant .bubble')).pop()?.textContent ?? '').length > n + 20, first);
    assert.ok(await page.isVisible('#stop'), 'still generating while text grows');

    await page.click('#stop');
    await page.waitForSelector('#send', { state: 'visible' });
    assert.match(await lastMeta(page), /stopped/);
    const stopped = await answerText(page);
    const ctx = server.context()!;
    for (let i = 0; i < 100 && ctx.scheduler.running > 0; i++) await page.waitForTimeout(20);
    assert.equal(ctx.scheduler.running, 0, 'the server stopped generating');
    assert.ok(ctx.metrics.aborted >= 1);
    await page.waitForTimeout(200);
    assert.equal(await answerText(page), stopped, 'no text arrives after Stop');
    // What streamed (kept as Markdown source in the browser's storage) is the model's greedy answer, cut short.
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('phi3.conversations.v1') ?? '[]')[0]?.messages?.[1]?.content as string);
    assert.ok(stored.length > 0 && greedy.text.startsWith(stored), `the page streamed the model's greedy answer: ${JSON.stringify(stored.slice(0, 60))}`);

    await page.reload();
    await page.waitForSelector('.conv-open');
    assert.equal(await page.textContent('.conv.active .conv-open'), QUESTION);
    assert.equal(await page.textContent('.msg.user .bubble'), QUESTION);
    assert.equal(await answerText(page), stopped);
    assert.match(await lastMeta(page), /stopped/);

    // Regenerate with a 5-token limit: the answer is replaced and finishes on its own.
    await setSettings(page, { maxTokens: '5' });
    await page.click('.msg.assistant .regenerate');
    await page.waitForSelector('#send', { state: 'visible' });
    await page.waitForFunction(() => /5 tokens/.test(Array.from(document.querySelectorAll('.msg.assistant .meta')).pop()?.textContent ?? ''));
    assert.equal(await page.locator('.msg.assistant').count(), 1);
    assert.equal((await answerText(page)).trim(), (await greedyLength(QUESTION, 5)).text.trim());
    await page.screenshot({ path: join(ARTIFACTS, 'web-desktop.png') });
    await page.context().close();
  });

  it('with Search on, the answer lists its sources; settings and several conversations are kept', async () => {
    const page = await openPage();
    await setSettings(page, { temperature: '0', maxTokens: '3' });
    await page.click('#new-chat');
    assert.ok(await page.isVisible('#search-toggle'));
    await page.check('#search');
    await page.fill('#input', 'What is the capital of Zorbania?');
    await page.press('#input', 'Enter');
    await page.waitForSelector('.sources li');
    await page.waitForSelector('#send', { state: 'visible' });
    const sources = await page.$$eval('.sources li', (lis) => lis.map((li) => li.textContent));
    assert.match(sources[0] ?? '', /Zorbania — zorbania\.md/);
    await page.screenshot({ path: join(ARTIFACTS, 'web-search.png') });

    // A second conversation, with a system prompt and search off; both stay listed and can be reopened.
    await page.click('#open-settings-top');
    await page.fill('#s-system', 'You are terse.');
    await page.click('#s-save');
    await page.uncheck('#search');
    await page.click('#new-chat');
    const sent = page.waitForRequest((r) => r.url().endsWith('/v1/chat/completions'));
    await page.fill('#input', 'Second question');
    await page.press('#input', 'Enter');
    const body = JSON.parse((await sent).postData() ?? '{}');
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Second question' },
    ]);
    assert.equal(body.temperature, 0);
    assert.equal(body.max_tokens, 3);
    assert.equal(body.search, undefined);
    await page.waitForSelector('#send', { state: 'visible' });
    assert.deepEqual(await page.$$eval('.conv-open', (b) => b.map((x) => x.textContent)), ['Second question', 'What is the capital of Zorbania?']);
    await page.click('.conv-open >> nth=1');
    await page.waitForSelector('.sources li');
    assert.equal(await page.textContent('.msg.user .bubble'), 'What is the capital of Zorbania?');
    await page.context().close();
  });

  it('renders Markdown and code, escapes HTML, drops unsafe links, and links citations to sources', async () => {
    const page = await openPage();
    await page.evaluate(() => {
      const list = JSON.parse(localStorage.getItem('phi3.conversations.v1') ?? '[]');
      const now = Date.now() + 60_000;
      list.push({
        id: 'md-test',
        title: 'Markdown test',
        createdAt: now,
        updatedAt: now,
        messages: [
          { role: 'user', content: 'Show me <b>markdown</b>' },
          {
            role: 'assistant',
            content:
              'Here is **bold**, `inline`, a [safe link](https://example.org) and a [bad one](javascript:window.__xss=1).\n\n' +
              '```js\nconst x = 1 < 2;\n```\n\n<img src=x onerror="window.__xss=2"> and Quillport is the capital [1].\n\n- one\n- two',
            sources: [{ index: 1, title: 'Zorbania', source: 'zorbania.md', passages: ['The capital of Zorbania is Quillport.'] }],
            stats: { tokens: 30, tps: 12.5 },
          },
        ],
      });
      localStorage.setItem('phi3.conversations.v1', JSON.stringify(list));
    });
    await page.reload();
    await page.waitForSelector('.msg.assistant pre code');
    assert.equal(await page.textContent('.msg.user .bubble'), 'Show me <b>markdown</b>');
    assert.equal(await page.locator('.msg.user b').count(), 0);
    assert.equal(await page.textContent('.msg.assistant pre code'), 'const x = 1 < 2;');
    assert.equal(await page.textContent('.msg.assistant strong'), 'bold');
    assert.equal(await page.locator('.msg.assistant li').count(), 2 + 1); // the list and the one source
    assert.equal(await page.locator('.msg.assistant img').count(), 0);
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    const hrefs = await page.$$eval('.msg.assistant .bubble a[href]:not([data-cite])', (as) => as.map((a) => a.getAttribute('href')));
    assert.deepEqual(hrefs, ['https://example.org']);
    await page.click('sup.cite a');
    await page.waitForSelector('.sources li.flash');
    assert.match(await lastMeta(page), /30 tokens · 12\.5 tok\/s/);
    await page.screenshot({ path: join(ARTIFACTS, 'web-markdown.png') });
    await page.context().close();
  });

  it('works on a phone-sized screen', async () => {
    const page = await openPage({ width: 390, height: 844 }, true);
    await setSettings(page, { temperature: '0', maxTokens: '24' });
    await page.fill('#input', 'Write a short poem about the sea.');
    await page.press('#input', 'Enter');
    await page.waitForSelector('.msg.assistant');
    await page.waitForSelector('#send', { state: 'visible' });
    const layout = await page.evaluate(() => ({
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      sidebarRight: document.getElementById('sidebar')!.getBoundingClientRect().right,
      composerBottom: document.getElementById('composer')!.getBoundingClientRect().bottom,
      height: window.innerHeight,
    }));
    assert.ok(layout.overflow <= 0, `page is ${layout.overflow}px wider than the screen`);
    assert.ok(layout.sidebarRight <= 0, 'the sidebar is tucked away');
    assert.ok(layout.composerBottom <= layout.height + 1, 'the message box is on screen');
    assert.ok(await page.isVisible('#toggle-sidebar'));
    await page.screenshot({ path: join(ARTIFACTS, 'web-phone.png') });
    await page.click('#toggle-sidebar');
    await page.waitForFunction(() => document.getElementById('sidebar')!.getBoundingClientRect().left >= 0);
    await page.waitForTimeout(250); // the drawer's slide-in
    await page.screenshot({ path: join(ARTIFACTS, 'web-phone-drawer.png') });
    await page.click('.conv-open');
    // Choosing a conversation closes the drawer.
    await page.waitForFunction(() => document.getElementById('sidebar')!.getBoundingClientRect().right <= 0);
    await page.context().close();
  });

  it('the page raised no errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
