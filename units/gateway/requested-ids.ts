/**
 * The ids a GraphQL request asks for by id: the `ids` of `transactions` and the `id` of
 * `transaction`, literal or from variables (at most 100). These are what a node fetches before
 * answering, when it does not hold them (from its cluster, a module from its CU's gateway):
 * not every id-shaped word of the request (an owner's address is not an item to fetch).
 */
import { Kind, parse, visit, type ValueNode } from 'graphql';
import type { GraphQLRequest } from './graphql.js';

const MAX = 100;
const ID = /^[A-Za-z0-9_-]{43}$/;

function variablesOf(request: GraphQLRequest): Record<string, unknown> {
  let v = request.variables;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return {};
    }
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function valueOf(node: ValueNode, variables: Record<string, unknown>): unknown {
  if (node.kind === Kind.VARIABLE) return variables[node.name.value];
  if (node.kind === Kind.STRING) return node.value;
  if (node.kind === Kind.LIST) return node.values.map((v) => valueOf(v, variables));
  return undefined;
}

export function requestedIds(request: GraphQLRequest): string[] {
  if (typeof request.query !== 'string') return [];
  let doc;
  try {
    doc = parse(request.query, { maxTokens: 10_000 });
  } catch {
    return [];
  }
  const variables = variablesOf(request);
  const out = new Set<string>();
  const add = (v: unknown) => {
    if (out.size >= MAX) return;
    if (typeof v === 'string' && ID.test(v)) out.add(v);
    else if (Array.isArray(v)) v.forEach(add);
  };
  visit(doc, {
    Field(field) {
      const want = field.name.value === 'transactions' ? 'ids' : field.name.value === 'transaction' ? 'id' : undefined;
      for (const arg of field.arguments ?? []) if (arg.name.value === want) add(valueOf(arg.value, variables));
    },
  });
  return [...out];
}
