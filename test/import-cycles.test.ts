// No import cycle anywhere in src/: every relative import (type-only ones included, since a type
// cycle is the same tangle for a reader) is followed, and a cycle fails the test naming its files.
// Run alone: npm run tap -- test/import-cycles.test.ts
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

const SRC = fileURLToPath(new URL('../src', import.meta.url))
const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|^\s*import\s+['"](\.[^'"]+)['"]/gm

function sourceFiles (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/** The file's relative imports, as absolute .ts paths. */
function importsOf (file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(IMPORT)].map((m) => resolve(dirname(file), (m[1] ?? m[2] ?? '').replace(/\.js$/, '.ts')))
}

/** Every cycle found by a depth-first walk, each as the list of files around it. */
function findCycles (graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = []
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (file: string): void => {
    state.set(file, 'open')
    stack.push(file)
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next])
      else if (state.get(next) === undefined) visit(next)
    }
    stack.pop()
    state.set(file, 'done')
  }
  for (const file of graph.keys()) if (state.get(file) === undefined) visit(file)
  return cycles
}

t.test('the walk finds a cycle when there is one', async (t) => {
  const graph = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]])
  t.same(findCycles(graph), [['a', 'b', 'c', 'a']])
  t.same(findCycles(new Map([['a', ['b']], ['b', []]])), [])
})

t.test('no import cycle in src/', async (t) => {
  const files = sourceFiles(SRC)
  t.ok(files.length > 50, `${files.length} files read`)
  const graph = new Map(files.map((file) => [file, importsOf(file)]))
  const unresolved = [...graph].flatMap(([file, imports]) => imports.filter((target) => !graph.has(target)).map((target) => `${relative(SRC, file)} → ${relative(SRC, target)}`))
  t.same(unresolved, [], 'every relative import resolves to a file of src/ (the walk sees every edge)')
  const cycles = findCycles(graph).map((cycle) => cycle.map((file) => relative(SRC, file)).join(' → '))
  t.same(cycles, [], 'no cycle')
})
