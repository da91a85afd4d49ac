/** A start refused before anything was created: one line, cause and fix (exit code 2). */
export class StartError extends Error {
  override readonly name = 'StartError';
}
