/**
 * One GraphQL request over HTTP, answered as GraphQL-over-HTTP says for application/json:
 * a request that cannot be run (no query, bad variables JSON, a syntax error, a query that does
 * not validate against the schema, variables that do not coerce) → 400 with `{ errors }`;
 * a query that runs → 200 with `{ data }` (and `errors` for fields that failed). Nothing a
 * client sends makes a 500. An answer is bounded: at most MAX_ROOT_FIELDS root fields, and
 * `maxBytes` of JSON (budget.ts).
 */
import { execute, getOperationAST, GraphQLError, parse, validate, type DocumentNode, type ExecutionResult, type FragmentDefinitionNode, type GraphQLResolveInfo, Kind } from 'graphql';
import { DEFAULT_ANSWER_BYTES, fieldsOf, nodeWeigher, overBudget, spend, type AnswerBudget } from './budget.js';
import type { ItemIndex } from './items.js';
import { transactions, type TransactionsArgs } from './query.js';
import { gatewaySchema } from './schema.js';

export interface GraphQLRequest {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

export interface GraphQLAnswer {
  status: number;
  body: ExecutionResult | { errors: { message: string }[] };
}

const fail = (status: number, message: string): GraphQLAnswer => ({ status, body: { errors: [{ message }] } });

/** Most root fields (aliases included) one request may ask for. */
export const MAX_ROOT_FIELDS = 32;

/** The root resolvers over an item index; each node handed out is weighed against the answer's budget. */
export function rootValue(index: ItemIndex) {
  return {
    transaction: ({ id }: { id: string }, budget: AnswerBudget, info: GraphQLResolveInfo) => {
      const node = index.node(id);
      if (!node) return null;
      if (!spend(budget, nodeWeigher(info, 'node')(node))) throw overBudget(budget);
      return node;
    },
    transactions: (args: TransactionsArgs, budget: AnswerBudget, info: GraphQLResolveInfo) =>
      transactions(index, args, { budget, weigh: nodeWeigher(info, 'connection') }),
  };
}

export function runGraphQL(index: ItemIndex, request: GraphQLRequest, maxBytes = DEFAULT_ANSWER_BYTES): GraphQLAnswer {
  const { query, operationName } = request;
  if (typeof query !== 'string' || query.trim() === '') return fail(400, 'a GraphQL request needs a "query" string');
  let variables = request.variables;
  if (typeof variables === 'string') {
    if (variables.trim() === '') variables = undefined;
    else {
      try {
        variables = JSON.parse(variables);
      } catch {
        return fail(400, '"variables" is not valid JSON');
      }
    }
  }
  if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) return fail(400, '"variables" must be an object');
  if (operationName != null && typeof operationName !== 'string') return fail(400, '"operationName" must be a string');

  const schema = gatewaySchema();
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens: 10_000 });
  } catch (e) {
    if (e instanceof GraphQLError) return { status: 400, body: { errors: [e] } };
    return fail(400, (e as Error).message);
  }
  const invalid = validate(schema, document);
  if (invalid.length > 0) return { status: 400, body: { errors: invalid } };
  const operation = getOperationAST(document, (operationName as string | undefined) ?? undefined);
  if (!operation) {
    return fail(400, operationName != null ? `no operation named '${operationName}' in the document` : 'the document has several operations: name one in "operationName"');
  }
  if (operation.operation !== 'query') return fail(400, `this gateway answers queries only, not a ${operation.operation}`);
  const fragments = Object.fromEntries(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  const roots = fieldsOf(operation.selectionSet, fragments).length;
  if (roots > MAX_ROOT_FIELDS) return fail(400, `the query asks for ${roots} root fields; at most ${MAX_ROOT_FIELDS} are served in one request`);
  try {
    const result = execute({
      schema,
      document,
      rootValue: rootValue(index),
      contextValue: { remaining: maxBytes, total: maxBytes } satisfies AnswerBudget,
      variableValues: (variables as Record<string, unknown> | undefined) ?? undefined,
      operationName: (operationName as string | undefined) ?? undefined,
    }) as ExecutionResult;
    // No `data` means the request could not start (unknown operation, variables that do not coerce).
    return { status: 'data' in result ? 200 : 400, body: result };
  } catch (e) {
    return fail(400, (e as Error).message);
  }
}
