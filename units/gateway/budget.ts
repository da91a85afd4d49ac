/**
 * A GraphQL answer is bounded in bytes. What a node weighs in the answer depends on what the
 * query selects of it, and a query can select one field many times (aliases, fragments, several
 * `edges` or `node` selections): `t1: tags {value} t2: tags {value} …` repeats every tag value.
 * So before a resolver hands out a node, it weighs the node as selected (an upper bound of its
 * JSON) against what is left of the request's budget: a `transactions` page ends early (and says
 * so in hasNextPage) when the next node does not fit, and a field whose first node does not fit
 * is an error, with the reason.
 */
import { GraphQLError, Kind, type FieldNode, type FragmentDefinitionNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { TransactionNode } from './transaction.js';

/** JSON bytes one GraphQL answer may hold (default). */
export const DEFAULT_ANSWER_BYTES = 8 * 1024 * 1024;

/** What is left of a request's answer budget (the GraphQL context value). */
export interface AnswerBudget {
  remaining: number;
  readonly total: number;
}

/** The fields of a selection set, fragments spread in (a field selected twice is listed twice). */
export function fieldsOf(set: SelectionSetNode | undefined, fragments: Record<string, FragmentDefinitionNode>, depth = 0): FieldNode[] {
  if (!set || depth > 32) return [];
  const out: FieldNode[] = [];
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) out.push(s);
    else if (s.kind === Kind.INLINE_FRAGMENT) out.push(...fieldsOf(s.selectionSet, fragments, depth + 1));
    else {
      const f = fragments[s.name.value];
      if (f) out.push(...fieldsOf(f.selectionSet, fragments, depth + 1));
    }
  }
  return out;
}

/** Bytes per field beyond its value (name, quotes, punctuation), and for any small scalar. */
const FIELD = 32;

function leafBytes(leaves: FieldNode[], value: (name: string) => number): number {
  return leaves.reduce((n, f) => n + FIELD + value(f.name.value), 0);
}

/** JSON lengths of a node's tag names and values (cached: a node's tags never change). */
const tagSizes = new WeakMap<TransactionNode, { names: number; values: number }>();
function tagJson(node: TransactionNode): { names: number; values: number } {
  let sizes = tagSizes.get(node);
  if (!sizes) {
    sizes = { names: 0, values: 0 };
    for (const t of node.tags) {
      sizes.names += JSON.stringify(t.name).length;
      sizes.values += JSON.stringify(t.value).length;
    }
    tagSizes.set(node, sizes);
  }
  return sizes;
}

/** Upper bound of the JSON of `node` with `fields` (Transaction fields) selected. */
function weigh(node: TransactionNode, fields: FieldNode[], fragments: Record<string, FragmentDefinitionNode>): number {
  let n = 0;
  for (const f of fields) {
    const inner = fieldsOf(f.selectionSet, fragments);
    switch (f.name.value) {
      case 'tags': {
        const sizes = tagJson(node);
        n += FIELD + node.tags.length * leafBytes(inner, () => 0) + leafBytes(inner, (k) => (k === 'name' ? sizes.names : k === 'value' ? sizes.values : 0));
        break;
      }
      case 'owner':
        n += FIELD + leafBytes(inner, (k) => (k === 'key' ? node.owner.key.length : k === 'address' ? node.owner.address.length : 0));
        break;
      case 'signature':
        n += FIELD + node.signature.length;
        break;
      default:
        // id, anchor, recipient: 43 characters or fewer; data, fee, quantity, block…: small leaves.
        n += FIELD + 64 + leafBytes(inner, () => 64);
    }
  }
  return n;
}

/**
 * How to weigh a node under the field being resolved: `transaction(id)` selects the node's
 * fields directly, `transactions(…)` under `edges { node { … } }` (each `edges` and `node`
 * selection counts, with its `cursor`).
 */
export function nodeWeigher(info: GraphQLResolveInfo, shape: 'node' | 'connection'): (node: TransactionNode) => number {
  const fragments = info.fragments;
  const top = info.fieldNodes.flatMap((f) => fieldsOf(f.selectionSet, fragments));
  if (shape === 'node') return (node) => weigh(node, top, fragments);
  const edges = top.filter((f) => f.name.value === 'edges');
  const inEdges = edges.flatMap((e) => fieldsOf(e.selectionSet, fragments));
  const nodes = inEdges.filter((f) => f.name.value === 'node');
  const perEdge = inEdges.filter((f) => f.name.value !== 'node').length * (FIELD + 64);
  const fields = nodes.flatMap((f) => fieldsOf(f.selectionSet, fragments));
  return (node) => perEdge + weigh(node, fields, fragments);
}

/** Takes `bytes` from the budget, or answers false when they do not fit. */
export function spend(budget: AnswerBudget | undefined, bytes: number): boolean {
  if (!budget) return true;
  if (bytes > budget.remaining) return false;
  budget.remaining -= bytes;
  return true;
}

export function overBudget(budget: AnswerBudget): GraphQLError {
  return new GraphQLError(
    `the answer would be larger than ${budget.total} bytes: select fewer fields (aliases repeat them) or ask for fewer items, and page with first/after`,
  );
}
