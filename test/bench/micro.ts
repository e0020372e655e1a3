// In-process micro-measures of pieces whose cost a hostile caller or member chooses: path-rule
// matching (members write their own rules) and reading a body's parameter names (callers choose
// the body). Each reports the time per operation next to its goal. Part of every `npm run bench`;
// `npm run bench -- --micro` runs only these (no wrk needed).
import { bodyParamNames } from '../../src/proxy/body-params.js'
import { compileRule, firstMatch, type PathRule } from '../../src/rules/path-rules.js'

export interface MicroResult {
  readonly name: string
  readonly perOpUs: number
  readonly iterations: number
  readonly goal: string
  readonly pass: boolean
}

/** Median per-operation time of `rounds` timed batches, after a warm-up batch. */
function measure(fn: () => unknown, batch: number, rounds = 7): number {
  for (let i = 0; i < batch; i++) fn()
  const perOp: number[] = []
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < batch; i++) fn()
    perOp.push(Number(process.hrtime.bigint() - start) / 1000 / batch)
  }
  perOp.sort((a, b) => a - b)
  return perOp[Math.floor(perOp.length / 2)] ?? NaN
}

function rule(source: string): PathRule {
  const compiled = compileRule(source)
  if (typeof compiled === 'string') throw new Error(compiled)
  return compiled
}

export function runMicro(): MicroResult[] {
  const results: MicroResult[] = []
  const add = (name: string, perOpUs: number, iterations: number, goalUs: number, goal: string) =>
    results.push({ name, perOpUs, iterations, goal, pass: perOpUs < goalUs })

  // Issue 9, finding 3: a 60-segment path against a rule of ten `**` (the old matcher's time
  // doubled with each `**`; seven took 2.4 s on 50 segments).
  const tenStars = [rule(`/${Array.from({ length: 10 }, () => '**').join('/')}/nomatch`)]
  const longPath = `/${Array.from({ length: 60 }, (_v, i) => `segment${i}`).join('/')}.json`
  const input = { method: 'GET', apiPath: longPath, paramNames: () => [] }
  add('rule match: 60-segment path, rule of ten ** (no match)', measure(() => firstMatch(tenStars, input), 2_000), 2_000, 1_000, '< 1 ms')
  const many = Array.from({ length: 50 }, (_v, i) => rule(`/**/${i}/**/**/**/x${i}`))
  add('rule match: 60-segment path, 50 rules of four **', measure(() => firstMatch(many, input), 200), 200, 1_000, '< 1 ms')

  // Bodies read under a ?param rule: the largest body the default --inspect-body-limit lets in.
  const MiB = 1024 * 1024
  const form = Buffer.from(Array.from({ length: MiB / 16 }, (_v, i) => `k${i % 1000}=${'v'.repeat(8)}`).join('&').slice(0, MiB))
  const jsonBody = Buffer.from(JSON.stringify(Object.fromEntries(Array.from({ length: 25_000 }, (_v, i) => [`key${i}`, { nested: 'x'.repeat(16) }]))))
  const boundary = 'b0undary'
  const multipart = Buffer.from(
    Array.from({ length: 4_000 }, (_v, i) => `--${boundary}\r\nContent-Disposition: form-data; name="field${i}"\r\n\r\n${'x'.repeat(200)}\r\n`).join('') + `--${boundary}--\r\n`,
  )
  add(`body names: ${(form.length / MiB).toFixed(1)} MiB form`, measure(() => bodyParamNames('form', form), 5), 5, 100_000, '< 100 ms')
  add(`body names: ${(jsonBody.length / MiB).toFixed(1)} MiB JSON`, measure(() => bodyParamNames('json', jsonBody), 5), 5, 100_000, '< 100 ms')
  add(`body names: ${(multipart.length / MiB).toFixed(1)} MiB multipart`, measure(() => bodyParamNames('multipart', multipart), 5), 5, 100_000, '< 100 ms')
  return results
}

export function renderMicro(results: readonly MicroResult[]): string {
  const rows = results.map((r) => `| ${r.name} | ${r.perOpUs < 1000 ? `${r.perOpUs.toFixed(1)} µs` : `${(r.perOpUs / 1000).toFixed(1)} ms`} | ${r.goal} | ${r.pass ? 'PASS' : 'FAIL'} |`)
  return ['## Micro-measures (in process, median of 7 batches)', '', '| what | per operation | goal | |', '|---|---|---|---|', ...rows, ''].join('\n')
}
