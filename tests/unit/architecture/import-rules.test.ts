import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

/**
 * The layering of the code base, checked on every test run (docs/ARCHITECTURE.md):
 *  - engine/ imports only engine/ and schemas/ (the runtime knows no component);
 *  - processors/ never import connectors/;
 *  - sources and sinks never import each other, and neither imports the API components;
 *  - connectors import from processors/ only its shared/ part;
 *  - dicom/ (the one DICOM module, beside processors/shared) imports no connectors/ and, of
 *    processors/, only the shared image types and helpers;
 *  - no import cycle between files.
 */
const ROOT = join(__dirname, '..', '..', '..');
const LAYERS = ['engine', 'connectors', 'processors', 'models', 'bin', 'schemas', 'dicom'];
const IMPORT =
  /(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|require\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules') return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

function importGraph(): Map<string, Set<string>> {
  const files = new Set(
    LAYERS.flatMap((l) => sourceFiles(join(ROOT, l))).map((f) => relative(ROOT, f)),
  );
  const graph = new Map<string, Set<string>>();
  for (const file of files) {
    const out = new Set<string>();
    const source = readFileSync(join(ROOT, file), 'utf8');
    for (const m of source.matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2] ?? m[3])!;
      const base = normalize(join(dirname(file), spec));
      const hit = [`${base}.ts`, `${base.replace(/\.js$/, '')}.ts`, join(base, 'index.ts')].find(
        (c) => files.has(c),
      );
      if (hit) out.add(hit);
    }
    graph.set(file, out);
  }
  return graph;
}

/** engine, schemas, dicom, processors, models, bin — or connectors/<sources|sinks|api|shared>. */
function layerOf(file: string): string {
  const parts = file.split(sep);
  return parts[0] === 'connectors' && parts.length > 2 ? `connectors/${parts[1]}` : parts[0]!;
}

export function layerBreaks(graph: Map<string, Set<string>>): string[] {
  const breaks: string[] = [];
  for (const [from, targets] of graph) {
    const a = layerOf(from);
    for (const to of targets) {
      const b = layerOf(to);
      const bad =
        (a === 'engine' && b !== 'engine' && b !== 'schemas') ||
        (a === 'dicom' &&
          (b.startsWith('connectors') ||
            (b === 'processors' && !to.startsWith(join('processors', 'shared'))))) ||
        (a === 'processors' && b.startsWith('connectors')) ||
        (a === 'connectors/sources' && (b === 'connectors/sinks' || b === 'connectors/api')) ||
        (a === 'connectors/sinks' && (b === 'connectors/sources' || b === 'connectors/api')) ||
        (a === 'connectors/api' && (b === 'connectors/sources' || b === 'connectors/sinks')) ||
        (a.startsWith('connectors') &&
          b === 'processors' &&
          !to.startsWith(join('processors', 'shared')));
      if (bad) breaks.push(`${from} -> ${to}`);
    }
  }
  return breaks;
}

/** Strongly connected components with more than one file (Tarjan). */
export function importCycles(graph: Map<string, Set<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

describe('[REQ-ARCH-03] import rules', () => {
  const graph = importGraph();

  it('reads the whole code base', () => {
    expect(graph.size).toBeGreaterThan(80);
    expect(graph.get(join('engine', 'runtime.ts'))?.size).toBeGreaterThan(5);
  });

  it('no import breaks the layering', () => {
    expect(layerBreaks(graph)).toEqual([]);
  });

  it('no import cycle between files', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it('the checks find a break and a cycle when there is one', () => {
    const bad = new Map<string, Set<string>>([
      [join('engine', 'a.ts'), new Set([join('connectors', 'sinks', 'fhir', 'index.ts')])],
      [join('processors', 'x.ts'), new Set([join('processors', 'y.ts')])],
      [join('processors', 'y.ts'), new Set([join('processors', 'x.ts')])],
      [
        join('connectors', 'sources', 's', 'index.ts'),
        new Set([join('connectors', 'sinks', 'k', 'index.ts')]),
      ],
    ]);
    expect(layerBreaks(bad)).toHaveLength(2);
    expect(importCycles(bad)).toEqual([[join('processors', 'x.ts'), join('processors', 'y.ts')]]);
  });
});
