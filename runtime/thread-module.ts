/**
 * The JavaScript a worker thread runs for one of the node's own modules.
 *
 * Worker threads get no TypeScript loader: a loader costs each thread about 0.2 s more to
 * start, and the node starts evaluator threads on demand. So thread code is TypeScript like the
 * rest, compiled to dist/ by `npm run build`, and a thread always runs the compiled file:
 *
 * - running compiled (dist/, production): the module named is the sibling `.js`, as is;
 * - running from the sources (tests, benchmarks: TypeScript loaded by vitest or tsx): the same
 *   path under dist/, which `npm run build` writes (`npm ci` runs it; the tests' globalSetup
 *   rebuilds it when a source is newer, and the benchmark scripts build first).
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A thread module that is only a TypeScript source, and not compiled yet. */
export class ThreadModuleMissing extends Error {
  override readonly name = 'ThreadModuleMissing';
}

/** The folder holding `tsconfig.build.json` above `file` (the project root), if any. */
function projectRoot(file: string): string | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'tsconfig.build.json'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The file a thread loads for `url`, a module named as its compiled `.js` (`new URL('./x.js',
 * import.meta.url)`). Throws ThreadModuleMissing, naming the fix, when it is a source not built.
 */
export function threadModule(url: URL): URL {
  const file = fileURLToPath(url);
  if (existsSync(file)) return url;
  const source = file.replace(/\.js$/, '.ts');
  const root = existsSync(source) ? projectRoot(source) : undefined;
  if (!root) throw new ThreadModuleMissing(`no module at ${file}`);
  const compiled = join(root, 'dist', relative(root, file));
  if (!existsSync(compiled)) {
    throw new ThreadModuleMissing(`${relative(root, source)} runs in a worker thread from its compiled ${relative(root, compiled)}, which is missing: run npm run build`);
  }
  return pathToFileURL(compiled);
}
