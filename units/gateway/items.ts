/**
 * The gateway's view of its sources: an item's bytes and its transaction node by id, and the
 * listable items in order. Nodes are cached by id (an item's id is the hash of its signature, so
 * what an id names never changes); misses are not cached, since an item can arrive later.
 */
import type { ItemFilter, ItemSource } from './sources.js';
import { transactionNode, type TransactionNode } from './transaction.js';

export class ItemIndex {
  private readonly nodes = new Map<string, TransactionNode>();

  constructor(
    private readonly sources: readonly ItemSource[],
    private readonly maxCached = 10_000,
    /** Most candidates one query looks at (query.ts). */
    readonly maxExamined = 10_000,
  ) {}

  /** The raw bytes of `id`, from the first source that has it. */
  raw(id: string): Uint8Array | undefined {
    return this.held(id)?.raw;
  }

  private held(id: string): { raw: Uint8Array; source: ItemSource } | undefined {
    for (const source of this.sources) {
      const raw = source.item(id);
      if (raw) return { raw, source };
    }
    return undefined;
  }

  /** The transaction node of `id`; undefined when no source has it (or its bytes are not an item). */
  node(id: string): TransactionNode | undefined {
    const hit = this.nodes.get(id);
    if (hit) return hit;
    const held = this.held(id);
    if (!held) return undefined;
    let node: TransactionNode;
    try {
      node = transactionNode(held.raw);
    } catch {
      return undefined;
    }
    if (node.id !== id) return undefined;
    // `parent` is the older name Arweave's GraphQL keeps for `bundledIn`.
    const bundle = held.source.bundledIn?.(id);
    if (bundle) node = { ...node, parent: { id: bundle }, bundledIn: { id: bundle } };
    this.nodes.set(id, node);
    while (this.nodes.size > this.maxCached) this.nodes.delete(this.nodes.keys().next().value!);
    return node;
  }

  /**
   * The nodes of the items that may match `filter` (from indexed sources) or are listed, no
   * repeats: oldest first (sources in order, each oldest first), or all of it reversed.
   */
  *candidates(filter: ItemFilter, newestFirst: boolean): Generator<TransactionNode> {
    const seen = new Set<string>();
    for (const s of newestFirst ? [...this.sources].reverse() : this.sources) {
      const ids = s.find ? s.find(filter, newestFirst) : s.list ? (newestFirst ? [...s.list()].reverse() : s.list()) : [];
      for (const id of ids) {
        if (seen.has(id)) continue;
        seen.add(id);
        const node = this.node(id);
        if (node) yield node;
      }
    }
  }
}
