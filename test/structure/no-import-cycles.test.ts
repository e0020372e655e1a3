// The layers in eslint.config.js keep imports from running back up; this keeps them from going
// round in circles inside a layer, where eslint's layer rules cannot see: a circle makes the
// order in which modules initialise depend on who is imported first. The simulator (a fake
// Cloud 66 for tests and demos) stands apart and is left out.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import test from 'ava'

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src')

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return e.name === 'simulator' ? [] : sources(path)
    return e.name.endsWith('.ts') ? [path] : []
  })
}

/** Static imports and re-exports, type-only ones too: `import type` cycles are harmless at run time, so they are skipped. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const out: string[] = []
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?[^'"]*?from\s+'(\.[^']+)'/gm)) {
    if (m[1] !== undefined) continue
    out.push(resolve(dirname(file), (m[2] ?? '').replace(/\.js$/, '.ts')))
  }
  return out
}

function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = []
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (node: string) => {
    state.set(node, 'open')
    stack.push(node)
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue
      if (state.get(next) === 'open') found.push(stack.slice(stack.indexOf(next)))
      else if (state.get(next) === undefined) visit(next)
    }
    stack.pop()
    state.set(node, 'done')
  }
  for (const node of graph.keys()) if (state.get(node) === undefined) visit(node)
  return found
}

test('no circle of value imports in src/ outside the simulator', (t) => {
  const graph = new Map(sources(SRC).map((f) => [f, importsOf(f)]))
  t.true(graph.size > 100, `read ${graph.size} files`)
  const circles = cycles(graph).map((c) => c.map((f) => relative(SRC, f)).join(' → '))
  t.deepEqual(circles, [])
})

test('the check finds a circle when there is one', (t) => {
  const graph = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
  ])
  t.deepEqual(cycles(graph), [['a', 'b', 'c']])
  t.deepEqual(
    cycles(
      new Map([
        ['a', ['b']],
        ['b', []],
      ]),
    ),
    [],
  )
})
