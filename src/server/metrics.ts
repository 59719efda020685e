// GET /metrics: the server's counters in Prometheus' text format (names prefixed phi3_), for dashboards
// and for the load test, which reads tokens computed after a client left.
import type { ServerContext } from './context.js';

export function metricsText(c: ServerContext): string {
  const m = c.metrics;
  const s = c.scheduler;
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, value: number | [string, number][]) => {
    lines.push(`# HELP phi3_${name} ${help}`, `# TYPE phi3_${name} ${type}`);
    if (typeof value === 'number') lines.push(`phi3_${name} ${value}`);
    else for (const [labels, v] of value) lines.push(`phi3_${name}{${labels}} ${v}`);
  };
  metric('requests_total', 'counter', 'HTTP responses sent, by status.', [...m.statuses].map(([code, n]) => [`status="${code}"`, n]));
  metric('tokens_evaluated_total', 'counter', 'Tokens run through the model (prompt and generated).', m.evaluated);
  metric('forward_passes_total', 'counter', 'Forward passes (prefill chunks and decode steps).', m.forwards);
  metric('tokens_generated_total', 'counter', 'Tokens generated.', m.generated);
  metric('sequences_aborted_total', 'counter', 'Generations stopped because the client went away.', m.aborted);
  metric('forwards_after_abort_total', 'counter', 'Forward passes run for a sequence after its client had gone.', m.tokensAfterAbort);
  metric('max_forwards_after_abort', 'gauge', 'The most forward passes one sequence ran after its client had gone.', m.maxAfterAbort);
  metric('sequences_running', 'gauge', 'Sequences decoding now.', s.running);
  metric('sequences_queued', 'gauge', 'Requests waiting for a slot.', s.queued);
  metric('kv_cache_bytes', 'gauge', 'Bytes held by the KV caches.', s.cacheBytes);
  return lines.join('\n') + '\n';
}
