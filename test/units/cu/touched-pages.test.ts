import { describe, expect, it } from 'vitest';
import { touchedPages } from '../../../units/cu/worker/touched-pages.js';

const PAGE = 65536;
const flagged = (t: Uint8Array) => [...t.keys()].filter((p) => t[p] === 1);

describe.runIf(process.platform === 'linux')('touched pages of a WebAssembly memory (from the kernel, without reading them)', () => {
  it('flags the pages written (and page 0, where the marker that finds the memory goes), none of the others, and leaves the memory as it was', () => {
    const m = new WebAssembly.Memory({ initial: 64, maximum: 256 });
    const h = new Uint8Array(m.buffer);
    h[5 * PAGE + 100] = 1;
    h[40 * PAGE + PAGE - 1] = 2;
    h[41 * PAGE] = 3;
    h[41 * PAGE] = 0; // written, then zero again: still touched (it is read, not assumed)
    const t = touchedPages(h)!;
    expect(t).toBeDefined();
    expect(flagged(t)).toEqual([0, 5, 40, 41]);
    expect(h.subarray(0, 8).every((b) => b === 0)).toBe(true);

    // A grown memory: the new pages are untouched until written.
    m.grow(8);
    const g = new Uint8Array(m.buffer);
    g[70 * PAGE + 7] = 9;
    expect(flagged(touchedPages(g)!)).toEqual([0, 5, 40, 41, 70]);
  });

  it('tells two memories apart (each thread holds one per process)', () => {
    const [a, b] = [new WebAssembly.Memory({ initial: 32 }), new WebAssembly.Memory({ initial: 32 })];
    new Uint8Array(a.buffer)[3 * PAGE] = 1;
    new Uint8Array(b.buffer)[9 * PAGE] = 1;
    expect(flagged(touchedPages(new Uint8Array(a.buffer))!)).toEqual([0, 3]);
    expect(flagged(touchedPages(new Uint8Array(b.buffer))!)).toEqual([0, 9]);
  });
});
