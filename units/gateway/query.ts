/**
 * `transactions(...)` over the gateway's items, with Arweave's filter semantics:
 * - ids, owners (addresses), recipients (targets): the item's value is one of the list's;
 * - tags: every filter must hold; `EQ`: the item has a tag of that name whose value is one of
 *   `values`; `NEQ`: it has a tag of that name whose value is none of them. Only `match: EXACT`
 *   is served;
 * - bundledIn: the item came in one of the listed bundles (an upload, uploads.ts); `[]` / `null`
 *   match everything;
 * - block: these items are in no block, so any block range matches nothing;
 * - first (default 10, at most 100, as arweave.net) and after (a cursor from an earlier edge);
 *   a page also ends at the answer's byte budget (budget.ts);
 * - at most MAX_FILTER_VALUES values in each filter list.
 *
 * Order: none of these items has a height, so the order among them is the gateway's: when ids
 * are given, the order they were given in; otherwise the order items became known to their
 * sources (a process: its spawn's time), newest first for HEIGHT_DESC (the default) and oldest
 * first for HEIGHT_ASC. So `sort: HEIGHT_DESC, first: 1` over a wallet's Scheduler-Location
 * records finds the newest.
 *
 * Without ids, the candidates come from the sources' indexes where they have them (the SU's
 * processes by owner, else by their narrowest EQ tag filter; items.ts) and from the small listed
 * sources; a query looks at MAX_EXAMINED items at most (a clear error past that, not an event
 * loop held over the whole log).
 */
import { GraphQLError } from 'graphql';
import { overBudget, spend, type AnswerBudget } from './budget.js';
import type { ItemIndex } from './items.js';
import type { TransactionNode } from './transaction.js';

export const DEFAULT_FIRST = 10;
export const MAX_FIRST = 100;
/** Most values one filter list (ids, owners, recipients, tags, a tag's values) may hold. */
export const MAX_FILTER_VALUES = 1000;
/** Most items one query looks at by default (skipping to `after` included). */
export const MAX_EXAMINED = 10_000;

export interface TagFilter {
  name: string;
  values: string[];
  op?: 'EQ' | 'NEQ';
  match?: 'EXACT' | 'WILDCARD' | 'FUZZY_AND' | 'FUZZY_OR';
}

export interface TransactionsArgs {
  ids?: string[] | null;
  owners?: string[] | null;
  recipients?: string[] | null;
  tags?: TagFilter[] | null;
  bundledIn?: string[] | null;
  block?: { min?: number | null; max?: number | null } | null;
  first?: number | null;
  after?: string | null;
  sort?: 'HEIGHT_ASC' | 'HEIGHT_DESC' | null;
}

export interface TransactionConnection {
  pageInfo: { hasNextPage: boolean };
  edges: { cursor: string; node: TransactionNode }[];
}

export const cursorOf = (id: string) => Buffer.from(`aotp:${id}`).toString('base64url');

function idOfCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString();
  if (!text.startsWith('aotp:') || cursorOf(text.slice(5)) !== cursor) throw new GraphQLError(`invalid cursor '${cursor}'`);
  return text.slice(5);
}

function checkSizes(args: TransactionsArgs): void {
  const lists: [string, readonly unknown[] | null | undefined][] = [
    ['ids', args.ids],
    ['owners', args.owners],
    ['recipients', args.recipients],
    ['tags', args.tags],
    ...(args.tags ?? []).map((t, i): [string, readonly unknown[]] => [`tags[${i}].values`, t.values]),
  ];
  for (const [name, list] of lists) {
    if (list && list.length > MAX_FILTER_VALUES) throw new GraphQLError(`${name} has ${list.length} entries; at most ${MAX_FILTER_VALUES} are served`);
  }
}

function matcher(args: TransactionsArgs): (n: TransactionNode) => boolean {
  const owners = args.owners ? new Set(args.owners) : undefined;
  const recipients = args.recipients ? new Set(args.recipients) : undefined;
  const tags = (args.tags ?? []).map((f) => {
    if ((f.match ?? 'EXACT') !== 'EXACT') throw new GraphQLError(`tag match ${f.match} is not supported by this gateway (only EXACT)`);
    return { name: f.name, values: new Set(f.values), neq: f.op === 'NEQ' };
  });
  const bundles = args.bundledIn != null && args.bundledIn.length > 0 ? new Set(args.bundledIn) : undefined;
  const noBlock = args.block != null && (args.block.min != null || args.block.max != null);
  return (n) => {
    if (noBlock) return false;
    if (bundles && !(n.bundledIn && bundles.has(n.bundledIn.id))) return false;
    if (owners && !owners.has(n.owner.address)) return false;
    if (recipients && !recipients.has(n.recipient)) return false;
    return tags.every((f) => n.tags.some((t) => t.name === f.name && f.values.has(t.value) !== f.neq));
  };
}

/**
 * A page of matching items. With a budget, each node is weighed as the query selects it
 * (budget.ts): the page ends before a node that does not fit, and its first node must fit.
 */
export function transactions(index: ItemIndex, args: TransactionsArgs, answer?: { budget: AnswerBudget; weigh: (n: TransactionNode) => number }): TransactionConnection {
  checkSizes(args);
  const first = args.first ?? DEFAULT_FIRST;
  if (!Number.isInteger(first) || first < 0) throw new GraphQLError(`first must be a non-negative integer, got ${first}`);
  const limit = Math.min(first, MAX_FIRST);
  const after = args.after != null && args.after !== '' ? idOfCursor(args.after) : undefined;
  const matches = matcher(args);

  let candidates: Iterable<TransactionNode>;
  if (args.ids) {
    const ids = [...new Set(args.ids)];
    candidates = (function* () {
      for (const id of ids) {
        const n = index.node(id);
        if (n) yield n;
      }
    })();
  } else {
    candidates = index.candidates({ owners: args.owners, tags: args.tags }, args.sort !== 'HEIGHT_ASC');
  }

  const edges: TransactionConnection['edges'] = [];
  let started = after === undefined;
  let hasNextPage = false;
  let examined = 0;
  for (const node of candidates) {
    // A query whose filters no index narrows must not hold the event loop over the whole log.
    if (++examined > index.maxExamined) {
      throw new GraphQLError(`this query examined ${index.maxExamined} items without completing its page: narrow it with owners, or with tag values (first, after and sort do not narrow it)`);
    }
    if (!matches(node)) continue;
    if (!started) {
      started = node.id === after;
      continue;
    }
    if (edges.length === limit) {
      hasNextPage = true;
      break;
    }
    if (answer && !spend(answer.budget, answer.weigh(node))) {
      if (edges.length === 0) throw overBudget(answer.budget);
      hasNextPage = true;
      break;
    }
    edges.push({ cursor: cursorOf(node.id), node });
  }
  return { pageInfo: { hasNextPage }, edges };
}
