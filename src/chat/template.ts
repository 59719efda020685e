// Chat templates: the model's own Jinja template (GGUF `tokenizer.chat_template` or tokenizer_config.json
// `chat_template`), rendered with @huggingface/jinja exactly as transformers' apply_chat_template does.
// Models that carry none get the current Phi-3-mini template (FACTS.md §2).
import { Template } from '@huggingface/jinja';
import { Phi3Error, RequestError } from '../errors.js';

export type Role = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: Role;
  content: string;
}

/** The Phi-3-mini-4k/128k template since May 2024 (system role, add_generation_prompt). */
export const PHI3_TEMPLATE =
  "{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + message['content'] + '<|end|>\n'}}" +
  "{% elif message['role'] == 'user' %}{{'<|user|>\n' + message['content'] + '<|end|>\n'}}" +
  "{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}";

/** Phi-3-small's template (FACTS.md §2): every role as <|role|>, BOS (= <|endoftext|>) first. */
export const PHI3_SMALL_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{{'<|' + message['role'] + '|>' + '\n' + message['content'] + '<|end|>\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}";

export interface TemplateContext {
  bosToken?: string;
  eosToken?: string;
}

export class ChatTemplate {
  private readonly compiled: Template;

  constructor(
    readonly source: string,
    private readonly ctx: TemplateContext = {},
  ) {
    try {
      this.compiled = new Template(source);
    } catch (e) {
      throw new Phi3Error(`chat template does not parse: ${(e as Error).message}`);
    }
  }

  /** Renders messages to prompt text; with addGenerationPrompt the text ends where the answer begins. */
  render(messages: ChatMessage[], addGenerationPrompt = true): string {
    validateMessages(messages);
    try {
      return this.compiled.render({
        messages,
        add_generation_prompt: addGenerationPrompt,
        bos_token: this.ctx.bosToken ?? '<s>',
        eos_token: this.ctx.eosToken ?? '<|endoftext|>',
      });
    } catch (e) {
      throw new Phi3Error(`chat template failed to render: ${(e as Error).message}`);
    }
  }
}

export function validateMessages(messages: unknown): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) throw new RequestError('messages must be a non-empty array');
  messages.forEach((m, i) => {
    if (typeof m !== 'object' || m === null) throw new RequestError(`messages[${i}] must be an object`);
    const { role, content } = m as Record<string, unknown>;
    if (role !== 'system' && role !== 'user' && role !== 'assistant')
      throw new RequestError(`messages[${i}].role must be "system", "user" or "assistant", got ${JSON.stringify(role)}`);
    if (typeof content !== 'string') throw new RequestError(`messages[${i}].content must be a string`);
  });
}
