/**
 * What an unhosted process answered to a host offer (paper 5.6.2), read from its dry-run
 * output: a message it sends back with a `Decision` tag — `accept`, `more` (ask for more
 * information; the SU may offer again) or `reject`. No answer is a rejection.
 */
import type { EvalOutput } from '../cu/index.js';

export type Decision = 'accept' | 'more' | 'reject';

interface OutMessage {
  Tags?: { name: string; value: string }[];
  Data?: unknown;
}

export function decisionOf(out: EvalOutput): { decision: Decision; answer?: string } {
  if (out.Error) return { decision: 'reject', answer: `the dry-run failed: ${String(out.Error).slice(0, 200)}` };
  for (const m of (out.Messages ?? []) as OutMessage[]) {
    const d = m.Tags?.find((t) => t.name === 'Decision')?.value?.toLowerCase();
    if (d === 'accept' || d === 'more' || d === 'reject') {
      const data = typeof m.Data === 'string' && m.Data !== '' ? m.Data : undefined;
      return { decision: d, ...(data ? { answer: data } : {}) };
    }
  }
  return { decision: 'reject', answer: 'the process sent no Decision' };
}
