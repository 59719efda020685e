// The default judge prompt: a 0–5 additive rubric for educational value (the FineWeb-Edu idea, written
// for this project). Users edit a copy (`phi3 data annotate --write-rubric FILE`, then `--rubric FILE`);
// the file must contain {{text}} where the document goes. `parseScore` reads the judge's reply.
// The hand labels in test/fixtures/data/ follow this same rubric. Tested in test/data-judge.test.ts.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Phi3Error } from '../errors.js';
import { RetryableError } from './llm-client.js';

export const DEFAULT_RUBRIC = `Below is an extract from a document. Judge whether it would be useful for teaching a school or
university student, using this additive 5-point scale. Start at 0 and add points:

- +1 if the extract gives some basic information relevant to an educational topic, even if it also holds
  advertisements, jokes, personal chatter or other non-educational material.
- +1 if it addresses parts of such a topic but does not align closely with educational standards: it may
  mix educational content with other material, or be a bare reference entry (a definition without
  explanation, a list of facts).
- +1 if it is appropriate for educational use and introduces a key concept clearly and coherently, like an
  introductory section of a textbook or an encyclopedia entry that explains, even if it is short.
- +1 if it is highly relevant and beneficial for learning at a school level: a clear, well-organised
  explanation or a worked example, with little irrelevant content.
- +1 if it is outstanding for teaching: it explains in depth, step by step, with examples or exercises,
  with no filler.

Jokes, quotations, slogans, changelogs, licences, spam and lists of credits score 0 or 1.

The extract:
<document>
{{text}}
</document>

Reply with JSON only, no other text: {"reason": "<one sentence>", "score": <integer 0 to 5>}`;

export interface Rubric {
  text: string;
  /** sha256 of the prompt template (first 16 hex digits): stored with every annotation. */
  id: string;
}

export function loadRubric(path?: string): Rubric {
  let text = DEFAULT_RUBRIC;
  if (path) {
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new Phi3Error(`cannot read the rubric ${path}: ${(e as Error).message}`);
    }
    if (!text.includes('{{text}}')) throw new Phi3Error(`the rubric ${path} has no {{text}} placeholder for the document`);
  }
  return { text, id: createHash('sha256').update(text).digest('hex').slice(0, 16) };
}

/** The prompt for one document, cut to `maxChars` so one huge page cannot blow the judge's context. */
export function judgePrompt(r: Rubric, doc: string, maxChars = 6000): string {
  const cut = doc.length > maxChars ? doc.slice(0, maxChars) + ' […]' : doc;
  return r.text.replace('{{text}}', () => cut);
}

/** Score 0–5 and reason from a reply: JSON {"score"}, else "score: N" / "Educational score: N". Throws RetryableError otherwise. */
export function parseScore(reply: string): { score: number; reason?: string } {
  const m = /\{[\s\S]*\}/.exec(reply);
  if (m) {
    try {
      const o = JSON.parse(m[0]) as { score?: unknown; reason?: unknown };
      const s = Number(o.score);
      if (Number.isInteger(s) && s >= 0 && s <= 5) return { score: s, reason: typeof o.reason === 'string' ? o.reason : undefined };
    } catch {
      // fall through to the plain-text form
    }
  }
  const t = /score"?\s*[:=]\s*"?([0-5])\b/i.exec(reply);
  if (t) return { score: Number(t[1]) };
  throw new RetryableError(`no 0–5 score in the judge's reply: ${reply.slice(0, 120)}`);
}
