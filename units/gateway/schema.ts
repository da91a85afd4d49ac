/**
 * The subset of Arweave's GraphQL schema (arweave.net / ar.io `/graphql`) this gateway answers:
 * `transaction(id)` and `transactions(...)` with the filters ao's tools use. Type and argument
 * names are Arweave's, so a query written for arweave.net validates here unchanged as long as it
 * only asks for these fields; `block(s)` and the other root fields are not served (a query
 * asking for them gets a validation error).
 */
import { buildSchema, type GraphQLSchema } from 'graphql';

export const SCHEMA_SDL = /* GraphQL */ `
  type Query {
    transaction(id: ID!): Transaction
    transactions(
      ids: [ID!]
      owners: [String!]
      recipients: [String!]
      tags: [TagFilter!]
      bundledIn: [ID!]
      block: BlockFilter
      first: Int = 10
      after: String
      sort: SortOrder = HEIGHT_DESC
    ): TransactionConnection!
  }

  enum SortOrder {
    HEIGHT_ASC
    HEIGHT_DESC
  }

  enum TagOperator {
    EQ
    NEQ
  }

  enum TagMatch {
    EXACT
    WILDCARD
    FUZZY_AND
    FUZZY_OR
  }

  input TagFilter {
    name: String!
    values: [String!]!
    op: TagOperator = EQ
    match: TagMatch = EXACT
  }

  input BlockFilter {
    min: Int
    max: Int
  }

  type TransactionConnection {
    pageInfo: PageInfo!
    edges: [TransactionEdge!]!
  }

  type PageInfo {
    hasNextPage: Boolean!
  }

  type TransactionEdge {
    cursor: String!
    node: Transaction!
  }

  type Transaction {
    id: ID!
    anchor: String!
    signature: String!
    recipient: String!
    owner: Owner!
    fee: Amount!
    quantity: Amount!
    data: MetaData!
    tags: [Tag!]!
    block: Block
    parent: Parent
    bundledIn: Bundle
  }

  type Owner {
    address: String!
    key: String!
  }

  type Amount {
    winston: String!
    ar: String!
  }

  type MetaData {
    size: String!
    type: String
  }

  type Tag {
    name: String!
    value: String!
  }

  type Block {
    id: ID!
    timestamp: Int!
    height: Int!
    previous: ID!
  }

  type Parent {
    id: ID!
  }

  type Bundle {
    id: ID!
  }
`;

let schema: GraphQLSchema | undefined;

export function gatewaySchema(): GraphQLSchema {
  return (schema ??= buildSchema(SCHEMA_SDL));
}
