import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

let cached: string | undefined;

/** The folder holding medstream's package.json, from source (ts) or from dist/ alike. */
export function projectRoot(): string {
  if (cached) return cached;
  let dir = __dirname;
  const isRoot = (d: string) =>
    existsSync(join(d, 'package.json')) && existsSync(join(d, 'schemas'));
  while (!isRoot(dir)) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`cannot find the medstream project root above ${__dirname}`);
    dir = parent;
  }
  cached = dir;
  return dir;
}

/** A configured path: absolute as given, relative ones from the project root. */
export function fromProjectRoot(path: string): string {
  return isAbsolute(path) ? path : join(projectRoot(), path);
}
