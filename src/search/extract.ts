// Documents → plain text and a title. Plain text and Markdown are read as they are (the title is the
// first heading); HTML goes through htmlparser2 (scripts, styles and page chrome dropped, block
// elements become line breaks, entities decoded); PDF through Mozilla's pdf.js (text of every page;
// the title from the document's metadata). Anything else is not a document we index.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { Parser } from 'htmlparser2';

export interface ExtractedDoc {
  title: string;
  text: string;
}

export const TEXT_EXTENSIONS = new Set(['.txt', '.text', '.md', '.markdown', '.mdx', '.rst', '.org', '.csv', '.tsv', '.log']);
export const HTML_EXTENSIONS = new Set(['.html', '.htm', '.xhtml']);
export const PDF_EXTENSIONS = new Set(['.pdf']);

export function isIndexable(path: string): boolean {
  const ext = extname(path).toLowerCase();
  return TEXT_EXTENSIONS.has(ext) || HTML_EXTENSIONS.has(ext) || PDF_EXTENSIONS.has(ext);
}

export async function extractFile(path: string): Promise<ExtractedDoc> {
  const ext = extname(path).toLowerCase();
  const fallback = basename(path, extname(path));
  if (PDF_EXTENSIONS.has(ext)) return pdfToText(new Uint8Array(await readFile(path)), fallback);
  const text = await readFile(path, 'utf8');
  if (HTML_EXTENSIONS.has(ext)) {
    const doc = htmlToText(text);
    return { title: doc.title || fallback, text: doc.text };
  }
  return { title: markdownTitle(text) ?? fallback, text };
}

function markdownTitle(text: string): string | undefined {
  const front = /^---\n[\s\S]*?^title:\s*["']?(.+?)["']?\s*$/m.exec(text);
  if (front && text.startsWith('---')) return front[1];
  const h = /^#{1,3}\s+(.+?)\s*#*\s*$/m.exec(text);
  return h?.[1];
}

const SKIP = new Set(['script', 'style', 'noscript', 'template', 'svg', 'head', 'nav', 'footer', 'iframe', 'form', 'button', 'select']);
const BLOCK = new Set([
  'p', 'div', 'section', 'article', 'main', 'header', 'aside', 'br', 'hr', 'li', 'ul', 'ol', 'dl', 'dt', 'dd', 'table', 'tr',
  'blockquote', 'pre', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'figure', 'figcaption', 'details', 'summary',
]);

/** Visible text of an HTML page, paragraphs separated by blank lines, and its <title> (or first <h1>). */
export function htmlToText(html: string): ExtractedDoc {
  const parts: string[] = [];
  let title = '';
  let h1 = '';
  let skip = 0;
  let inTitle = false;
  let inH1 = false;
  const parser = new Parser(
    {
      onopentagname(name) {
        if (name === 'title') inTitle = true;
        else if (name === 'h1') inH1 = true;
        if (SKIP.has(name)) skip++;
        if (BLOCK.has(name)) parts.push('\n\n');
        else if (name === 'td' || name === 'th') parts.push(' | ');
      },
      onclosetag(name) {
        if (name === 'title') inTitle = false;
        else if (name === 'h1') inH1 = false;
        if (SKIP.has(name)) skip = Math.max(0, skip - 1);
        if (BLOCK.has(name)) parts.push('\n\n');
      },
      ontext(text) {
        if (inTitle) title += text;
        if (inH1 && !h1) h1 = text;
        if (skip === 0) parts.push(text);
      },
    },
    { decodeEntities: true, lowerCaseTags: true },
  );
  parser.write(html);
  parser.end();
  const text = parts
    .join('')
    .replace(/[ \t\u00a0]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { title: (title || h1).replace(/\s+/g, ' ').trim(), text };
}

/** Text of every page of a PDF (pdf.js), pages separated by blank lines. */
export async function pdfToText(data: Uint8Array, fallbackTitle: string): Promise<ExtractedDoc> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const doc = await pdfjs.getDocument({ data, isEvalSupported: false, disableFontFace: true, verbosity: 0 }).promise;
  try {
    let title = fallbackTitle;
    try {
      const meta = await doc.getMetadata();
      const t = (meta.info as Record<string, unknown> | undefined)?.['Title'];
      if (typeof t === 'string' && t.trim()) title = t.trim();
    } catch {
      // metadata is optional
    }
    const pages: string[] = [];
    for (let i = 1; i <= doc.numPages; i++) {
      const page = await doc.getPage(i);
      const content = await page.getTextContent();
      let text = '';
      for (const item of content.items) if ('str' in item) text += item.str + (item.hasEOL ? '\n' : ' ');
      pages.push(text.trim());
      page.cleanup();
    }
    return { title, text: pages.join('\n\n') };
  } finally {
    await doc.destroy();
  }
}
