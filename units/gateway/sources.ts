/**
 * Where the gateway's items come from: anything that can hand out a signed data item's bytes by
 * id. The SU's log (`SuLogReader.item`: spawns and messages) already has that shape; the CU's
 * module store and the node's own records (its Scheduler-Location) are adapted below.
 *
 * A source that can also `list()` its ids takes part in queries that name no ids (by owner, by
 * tag). The SU's log grows without bound: it is not listed, its messages are found by id only
 * (how aoconnect and scheduler-utils look them up), and its processes through its index by
 * owner and tag (`find`: how aos finds a wallet's process by Name).
 */
export interface ItemSource {
  /** The raw ANS-104 bytes of item `id`, when this source has it. */
  item(id: string): Uint8Array | undefined;
  /** Every id this source holds, oldest first; omitted for sources too large to scan. */
  list?(): Iterable<string>;
  /**
   * For a source with indexes: the ids that may match a query's owners and tags (every match
   * among its items is among them), newest or oldest first. Asked instead of `list`.
   */
  find?(filter: ItemFilter, newestFirst: boolean): Iterable<string>;
  /** The bundle that brought item `id` to this source, when one did. */
  bundledIn?(id: string): string | undefined;
}

/** What a query filters on that an index can narrow. */
export interface ItemFilter {
  owners?: readonly string[] | null | undefined;
  tags?: readonly { name: string; values: readonly string[]; op?: 'EQ' | 'NEQ' | null }[] | null | undefined;
}

/** The SU's log: any spawn or message by id; processes found by owner and tag (su/process-index.ts). */
export function logSource(log: { item(id: string): Uint8Array | undefined; processIds(filter: ItemFilter, newestFirst: boolean): Iterable<string> }): ItemSource {
  return { item: (id) => log.item(id), find: (filter, newestFirst) => log.processIds(filter, newestFirst) };
}

/** The part of the CU's ModuleStore the gateway uses. */
export interface ModuleItems {
  raw(id: string): Uint8Array | undefined;
  ids(): Iterable<string>;
}

/** The CU's modules (Type=Module items), listable: few, and looked up by owner and tag. */
export function moduleSource(modules: ModuleItems): ItemSource {
  return { item: (id) => modules.raw(id), list: () => modules.ids() };
}

/** A small in-memory list of items (the node's Scheduler-Location record), listable. */
export interface ItemList extends ItemSource {
  /** Adds an item (or replaces one with the same id); the newest is listed last. */
  add(item: { id: string; raw: Uint8Array }): void;
  list(): string[];
}

export function itemList(items: { id: string; raw: Uint8Array }[] = []): ItemList {
  const byId = new Map<string, Uint8Array>();
  const list: ItemList = {
    item: (id) => byId.get(id),
    list: () => [...byId.keys()],
    add({ id, raw }) {
      byId.delete(id);
      byId.set(id, raw);
    },
  };
  for (const i of items) list.add(i);
  return list;
}
