import { execFile, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import test from 'ava'
import { cleanEnv } from '../helpers/cli.js'
import { tryConnect } from '../helpers/spawned-proxy.js'
import { until } from '../helpers/wait.js'

const DEMO = fileURLToPath(new URL('../../dist/demo.js', import.meta.url))
const CURL = '/usr/bin/curl'

/** Splits a printed shell line into words (plain words and single/double-quoted strings). */
function shellWords(line: string): string[] {
  const words: string[] = []
  for (const m of line.matchAll(/'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g)) words.push(m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3] ?? '')
  return words
}

function curl(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // A clean environment: an http_proxy variable on the machine must not reroute the demo's lines.
    execFile(CURL, args, { env: cleanEnv(), timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    )
  })
}

test('npm run demo prints three curl lines that work exactly as printed, and stops cleanly on SIGINT', async (t) => {
  const child = spawn(process.execPath, [DEMO], { env: cleanEnv({ C66_PROXY_LISTEN: '127.0.0.1:0' }), stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo printed no instructions: ${stdout} ${stderr}`)), 30_000)
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString()
      if (stdout.includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.on('exit', () => reject(new Error(`the demo exited early: ${stdout} ${stderr}`)))
  })

  const lines = [...stdout.matchAll(/^ *(curl .*)$/gm)].map((m) => m[1] ?? '')
  t.is(lines.length, 3, stdout)
  const runs = []
  for (const line of lines) {
    const [command, ...args] = shellWords(line)
    t.is(command, 'curl')
    const run = await curl(args)
    t.is(run.code, 0, `${line}: ${run.stderr}`)
    runs.push(JSON.parse(run.stdout) as { response: unknown; count?: number })
  }
  const [stacks, servers, redeploy] = runs as [
    { response: Array<{ uid: string; name: string }>; count: number },
    { response: Array<{ uid: string; stack_uid: string }> },
    { response: { ok: boolean; queued: boolean } },
  ]
  t.true(stacks.response.length > 0)
  t.true(stacks.count >= stacks.response.length)
  const uid = /\/stacks\/([0-9a-f]+)\/servers/.exec(lines[1] ?? '')?.[1]
  t.is(uid, stacks.response[0]?.uid, 'the servers line names a stack the first line lists')
  t.true(servers.response.length > 0)
  t.true(servers.response.every((s) => s.stack_uid === uid))
  t.like(redeploy.response, { ok: true, queued: true })

  // Each request shows up under the instructions as a line for people, not as a JSON log line.
  const shown = await until('the three requests to be shown', async () => {
    const requests = [...stdout.matchAll(/^ {2}(GET|POST) (\S+) → (\d{3})\b.*$/gm)]
    return requests.length >= 3 ? requests : undefined
  })
  t.deepEqual(
    shown.map((m) => [m[1], m[2], m[3]]),
    [
      ['GET', '/stacks', '200'],
      ['GET', '/stacks/:id/servers', '200'],
      ['POST', '/stacks/:id/deployments', '200'],
    ],
  )
  t.notRegex(stdout, /^\{/m, 'no JSON log lines in the demo')

  const port = Number(/http:\/\/127\.0\.0\.1:(\d+)\/stacks/.exec(lines[0] ?? '')?.[1])
  child.kill('SIGINT')
  t.deepEqual(await exited, { code: 0, signal: null })
  t.is(await tryConnect(port), 'ECONNREFUSED', 'the proxy is gone')
  t.notRegex(stdout + stderr, /c66-demo-token/, 'the demo never prints its token')
})
