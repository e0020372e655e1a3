import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { verifyAuditFile } from '../../src/audit/verify.js'
import {
  TWO_REPLICA_LAYOUT,
  auditEnv,
  forgeChain,
  forgerKey,
  layout,
  otherKeys,
  readLines,
  reforge,
  tempDir,
  testKeys,
  writeLines,
  writeTwoReplicaLog,
} from '../helpers/audit-files.js'
import { runCli } from '../helpers/cli.js'

// Every case starts from the standard file (1-based line: replica:seq):
//  1 a:1   2 b:1   3 a:2   4 a:3   5 b:2   6 a:4   7 b:3   8 b:4   9 b:5   10 a:5   11 a:6   12 b:6

const at = (lines: string[], lineNumber: number): string => {
  const line = lines[lineNumber - 1]
  if (line === undefined) throw new Error(`no line ${lineNumber}`)
  return line
}

async function tamperedFile(t: ExecutionContext, tamper: (lines: string[]) => string[] | string): Promise<string> {
  const path = join(tempDir(t), 'audit.log')
  await writeTwoReplicaLog(t, path)
  t.deepEqual(layout(path), TWO_REPLICA_LAYOUT)
  const result = tamper(readLines(path))
  if (typeof result === 'string') writeFileSync(path, result)
  else writeLines(path, result)
  return path
}

const detects = test.macro({
  async exec(t, _what: string, tamper: (lines: string[]) => string[] | string, line: number, reason: RegExp) {
    const path = await tamperedFile(t, tamper)
    const result = await verifyAuditFile(path, testKeys)
    t.like(result, { ok: false, line })
    if (!result.ok) t.regex(result.reason, reason)
    const cli = await runCli(['audit', 'verify', path], auditEnv())
    t.is(cli.code, 1, cli.stderr)
    t.true(cli.stdout.startsWith(`chain broken at line ${line}: `), cli.stdout)
  },
  title: (_title, what: string, _tamper, line: number) => `${what} is reported at line ${line} and audit verify exits 1`,
})

test(detects, 'a deleted middle line (a:2, line 3)', (lines) => lines.filter((_, i) => i !== 2), 3, /expected seq 2 after seq 1, found seq 3/)

test(
  detects,
  'a deleted line followed by another replica’s lines (a:4, line 6; a’s next line, a:5, moves up to line 9)',
  (lines) => lines.filter((_, i) => i !== 5),
  9,
  /replica "a": expected seq 4 after seq 3, found seq 5/,
)

test(
  detects,
  'an edited status (200 to 201 on line 5)',
  (lines) => {
    const edited = lines.slice()
    edited[4] = at(lines, 5).replace('"status":200,', '"status":201,')
    return edited
  },
  5,
  /MAC does not match: the line was edited or forged/,
)

test(
  detects,
  'two lines of one replica swapped (lines 3 and 4)',
  (lines) => {
    const swapped = lines.slice()
    swapped[2] = at(lines, 4)
    swapped[3] = at(lines, 3)
    return swapped
  },
  3,
  /expected seq 2 after seq 1, found seq 3/,
)

test(
  detects,
  'a deleted first line of replica b (line 2; b:2 moves up to line 4)',
  (lines) => lines.filter((_, i) => i !== 1),
  4,
  /replica "b" starts at seq 2/,
)

test(
  detects,
  'the last line cut half-way (line 12)',
  (lines) => {
    const last = at(lines, 12)
    return `${lines
      .slice(0, 11)
      .map((line) => `${line}\n`)
      .join('')}${last.slice(0, Math.floor(last.length / 2))}`
  },
  12,
  /not valid JSON.*cut short/,
)

test(
  detects,
  'a forged line inserted with a stale MAC (a copy of line 4 for another member, at line 5)',
  (lines) => [...lines.slice(0, 4), at(lines, 4).replace(/"member":"[^"]*"/, '"member":"cloud66:9999"'), ...lines.slice(4)],
  5,
  /MAC does not match/,
)

test(
  detects,
  'a forged line whose mac is a recomputed SHA-256 (a:4 for an invented request, at line 5, before the real a:4)',
  (lines) => {
    const forged = reforge(at(lines, 6), (record) => {
      record['request_id'] = 'req-forged'
      record['method'] = 'DELETE'
    })
    return [...lines.slice(0, 4), forged, ...lines.slice(4)]
  },
  5,
  /MAC does not match: the line was edited or forged/,
)

test(
  detects,
  'a forged line whose mac is an HMAC under a key of the forger’s own (a:4 for an invented request, at line 5)',
  (lines) => {
    const forged = reforge(
      at(lines, 6),
      (record) => {
        record['request_id'] = 'req-forged'
      },
      otherKeys.current,
    )
    return [...lines.slice(0, 4), forged, ...lines.slice(4)]
  },
  5,
  /MAC does not match/,
)

test(
  detects,
  'a replayed copy of line 3 right after it',
  (lines) => [...lines.slice(0, 3), at(lines, 3), ...lines.slice(3)],
  4,
  /expected seq 3 after seq 2, found seq 2/,
)

test(
  detects,
  'a field added to line 8 with its MAC left alone',
  (lines) => {
    const edited = lines.slice()
    edited[7] = at(lines, 8).replace(/}$/, ',"key":"c66p_canary"}')
    return edited
  },
  8,
  /unexpected field "key"/,
)

test(
  detects,
  'a replaced line whose mac was recomputed as a SHA-256 (line 3 edited; caught at the line itself)',
  (lines) => {
    const edited = lines.slice()
    edited[2] = reforge(at(lines, 3), (record) => {
      record['status'] = 201
    })
    return edited
  },
  3,
  /MAC does not match/,
)

test(
  detects,
  'a replaced line sealed under the real key (line 3 edited by the secret’s holder; a’s next line, line 4, no longer links to it)',
  (lines) => {
    const edited = lines.slice()
    edited[2] = reforge(
      at(lines, 3),
      (record) => {
        record['status'] = 201
      },
      testKeys.current,
    )
    return edited
  },
  4,
  /prev does not match the MAC of seq 2/,
)

test(
  detects,
  'a line reformatted with whitespace (line 10)',
  (lines) => {
    const edited = lines.slice()
    edited[9] = JSON.stringify(JSON.parse(at(lines, 10)), null, 1).replace(/\n/g, '')
    return edited
  },
  10,
  /canonical form/,
)

test(detects, 'an empty line inserted after line 6', (lines) => [...lines.slice(0, 6), '', ...lines.slice(6)], 7, /empty line/)

// Forgeries the unkeyed (version 1) chain could not catch: each is well-formed and correctly
// linked; only the MAC, under a key the forger does not have, gives it away.

test(
  detects,
  'a whole forged chain of a made-up replica inserted mid-file (z:1–3 at lines 7–9, the real kid, the forger’s key)',
  (lines) => [...lines.slice(0, 6), ...forgeChain('z', 3), ...lines.slice(6)],
  7,
  /MAC does not match: the line was edited or forged/,
)

test(
  detects,
  'a whole forged chain of a made-up replica under the forger’s own kid (z:1–3 at lines 7–9)',
  (lines) => [...lines.slice(0, 6), ...forgeChain('z', 3, otherKeys.current), ...lines.slice(6)],
  7,
  /unknown key id "[0-9a-f]{8}": written under another secret, or forged/,
)

test(
  detects,
  'a forged first line for a real replica (a:1 on line 1 replaced by one for another member)',
  (lines) => {
    const forged = lines.slice()
    forged[0] = reforge(
      at(lines, 1),
      (record) => {
        record['member'] = 'cloud66:6666'
      },
      forgerKey,
    )
    return forged
  },
  1,
  /MAC does not match/,
)

test(
  detects,
  'a forged first line for a real replica inserted as a restart (a:1, prev null, at line 7)',
  (lines) => [...lines.slice(0, 6), ...forgeChain('a', 1), ...lines.slice(6)],
  7,
  /MAC does not match/,
)
