/**
 * The actor `network/block-height`: keeps the network's current block height, read from the
 * configured gateway's `GET /info` (`{ height }`, as arweave.net answers), for the SU's
 * assignments (`Block-Height`). The height never goes down; a gateway that does not answer
 * leaves the last one and is asked again at the next period.
 */
import type { Behaviour } from '../../runtime/index.js';
import { boundedText } from './bounded-body.js';

export const BLOCK_HEIGHT = 'network/block-height';

export interface BlockHeightArgs {
  gateway: string;
  everyMs: number;
  timeoutMs: number;
  /** Told each height read. */
  set(height: number): void;
}

const TICK = { tag: 'block-height' } as const;

/** The height a gateway's `/info` answers. */
export async function readBlockHeight(gateway: string, timeoutMs: number): Promise<number> {
  const r = await fetch(`${gateway}/info`, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await boundedText(r, 64 * 1024);
  if (!r.ok) throw new Error(`${gateway}/info answered ${r.status}: ${text.slice(0, 200)}`);
  const height = (JSON.parse(text) as { height?: unknown }).height;
  if (typeof height !== 'number' || !Number.isSafeInteger(height) || height < 0) throw new Error(`${gateway}/info has no height: ${text.slice(0, 200)}`);
  return height;
}

export const blockHeight: Behaviour<BlockHeightArgs, BlockHeightArgs> = {
  init(args, ctx) {
    ctx.send(ctx.self, TICK);
    return { ok: args };
  },
  async handleInfo(msg: typeof TICK, s, ctx) {
    if (msg?.tag !== TICK.tag) return { state: s };
    try {
      s.set(await readBlockHeight(s.gateway, s.timeoutMs));
    } catch (e) {
      ctx.log.warn({ err: (e as Error).message }, 'the gateway did not say its block height; keeping the last one');
    }
    ctx.sendAfter(s.everyMs, TICK);
    return { state: s };
  },
};
