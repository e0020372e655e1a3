// The request-target rules scan a path once and only run their regexes on paths that need them
// (a hot-path optimisation). This test holds them to a straightforward reference version of the
// same rules, the one they replaced, over thousands of generated request targets built from the
// pieces path attacks are made of: both must accept and refuse exactly the same targets.
import test from 'ava'
import { checkRequestTarget } from '../../src/http/guards.js'

/** The rules as first written: each rule on the whole path, then every segment decoded on its own. */
function reference(rawUrl: string): boolean {
  if (rawUrl === '*' || !rawUrl.startsWith('/') || rawUrl.includes('#')) return false
  const q = rawUrl.indexOf('?')
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q)
  if (path.includes('\\') || /%5c/i.test(path)) return false
  if (/%2f/i.test(path)) return false
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]|%[01][0-9a-f]|%7f/i.test(path)) return false
  if (/https?:\//i.test(path)) return false
  const segments = path.split('/')
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i] ?? ''
    if (seg === '' && i < segments.length - 1) return false
    if (seg.length <= 6 && seg.length > 0) {
      const decoded = seg.replace(/%2e/gi, '.')
      if (decoded === '.' || decoded === '..') return false
    }
  }
  return true
}

const PIECES = [
  '/',
  '/',
  '/',
  'a',
  'stacks',
  '.',
  '..',
  '%2e',
  '%2E',
  '.json',
  '%2f',
  '%2F',
  '%5c',
  '%5C',
  '\\',
  ':',
  'http:',
  'HTTPS:',
  '%00',
  '%0a',
  '%1F',
  '%7f',
  '%7F',
  '%41',
  '%',
  '?',
  '?x=../..',
  '#',
  '-',
  '_',
  '~',
  '\x01',
  '\x7f',
  'é',
]

/** A deterministic generator (mulberry32), so a failure names a target that can be replayed. */
function random(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

test('the request-target rules accept and refuse exactly what the reference rules do, over 20,000 generated targets', (t) => {
  const next = random(66)
  let refused = 0
  for (let n = 0; n < 20_000; n++) {
    let url = '/'
    const parts = 1 + Math.floor(next() * 8)
    for (let i = 0; i < parts; i++) url += PIECES[Math.floor(next() * PIECES.length)] ?? ''
    const expected = reference(url)
    const actual = checkRequestTarget('GET', url) === undefined
    if (actual !== expected) t.fail(`${JSON.stringify(url)}: reference ${expected ? 'accepts' : 'refuses'} it, checkRequestTarget does not`)
    if (!expected) refused += 1
  }
  // The corpus must exercise both sides, or the comparison proves nothing.
  t.true(refused > 2_000 && refused < 18_000, `${refused} of 20,000 refused`)
})

test('a refused path keeps its stable error code and status', (t) => {
  t.like(checkRequestTarget('GET', '/stacks/../accounts'), { status: 400, code: 'invalid_path', reason: 'dot_segment' })
  t.like(checkRequestTarget('GET', '/stacks/%2E%2e/accounts'), { status: 400, code: 'invalid_path', reason: 'dot_segment' })
  t.like(checkRequestTarget('GET', '/stacks//x'), { status: 400, code: 'invalid_path', reason: 'empty_segment' })
  t.like(checkRequestTarget('GET', '/a%2fb'), { status: 400, code: 'invalid_path', reason: 'encoded_slash' })
  t.like(checkRequestTarget('GET', '/a%5cb'), { status: 400, code: 'invalid_path', reason: 'backslash' })
  t.like(checkRequestTarget('GET', '/a%0ab'), { status: 400, code: 'invalid_path', reason: 'control_char' })
  t.like(checkRequestTarget('GET', '/x/https://evil.example/'), { status: 400, code: 'invalid_path' })
  t.is(checkRequestTarget('GET', '/stacks/abc/servers.json?page=2&x=..'), undefined, 'dots in the query are not the path')
})
