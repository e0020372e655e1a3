// The container image cannot be built here (no Docker engine), so this checks what can be checked:
// the Dockerfile's shape, and that its ENTRYPOINT/CMD and HEALTHCHECK work from a clean
// production-only install (`npm ci --omit=dev`) of exactly the files the image copies.
import { execFile, spawn } from 'node:child_process'
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import test from 'ava'
import { freePort } from '../helpers/ports.js'

const run = promisify(execFile)
const root = new URL('../../', import.meta.url).pathname

async function dockerfile(): Promise<string> {
  return readFile(join(root, 'Dockerfile'), 'utf8')
}

/** The instructions of the final stage only (after the last FROM). */
function finalStage(text: string): string {
  const parts = text.split(/^FROM /m)
  return parts.at(-1) ?? ''
}

test('the Dockerfile is multi-stage on a Node LTS slim image, non-root, production dependencies only, with a health check', async (t) => {
  const text = await dockerfile()
  const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1] ?? '')
  t.true(froms.length >= 2, 'multi-stage')
  for (const image of froms) t.regex(image, /^node:(22|24)(\.\d+)*-[a-z]+-slim$|^node:(22|24)-slim$/, `${image} is Node 22 or 24 LTS slim`)
  const last = finalStage(text)
  t.regex(last, /^RUN npm ci --omit=dev\b/m)
  t.notRegex(last, /^RUN npm ci(?! --omit=dev)/m, 'no full install in the runtime stage')
  const user = /^USER (\S+)/m.exec(last)?.[1]
  t.truthy(user, 'a USER instruction')
  t.not(user, 'root')
  t.not(user, '0')
  t.regex(last, /^EXPOSE 8066$/m)
  t.regex(last, /^HEALTHCHECK [\s\S]*?CMD \["node", "dist\/main\.js", "healthcheck"\]/m)
  t.regex(last, /^ENTRYPOINT \["node", "--initial-old-space-size=64", "dist\/main\.js"\]$/m)
  t.regex(last, /^CMD \["serve"\]$/m)
})


test("the image's command serves, and its health check passes, from a clean npm ci --omit=dev install", async (t) => {
  t.timeout(180_000)
  const dir = await mkdtemp(join(tmpdir(), 'c66-proxy-image-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  // Exactly what the runtime stage copies: the manifests (then a production install), dist, the defaults.
  for (const file of ['package.json', 'package-lock.json']) await cp(join(root, file), join(dir, file))
  await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: dir, maxBuffer: 16 * 1024 * 1024 })
  await cp(join(root, 'dist'), join(dir, 'dist'), { recursive: true })
  await cp(join(root, 'config', 'default.json'), join(dir, 'config', 'default.json'))
  const { stdout: devDeps } = await run('npm', ['ls', '--omit=prod', '--depth=0', '--parseable'], { cwd: dir }).catch((e: { stdout: string }) => e)
  t.false(/node_modules\/(ava|typescript|tsx|eslint)\b/.test(devDeps), 'no development dependency was installed')

  const port = await freePort()
  // The image's environment, with a free port instead of 8066 (tests never take fixed ports).
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, NODE_ENV: 'production', C66_PROXY_LISTEN: `0.0.0.0:${port}`, C66_PROXY_UNSAFE_LISTEN_ANY: 'true', CLOUD66_ACCESS_TOKEN: 'image-test-token' }
  const server = spawn(process.execPath, ['dist/main.js', 'serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => void server.kill('SIGKILL'))
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const onData = (c: Buffer) => {
      output += c.toString()
      if (output.includes('c66-proxy listening')) resolve()
    }
    server.stdout.on('data', onData)
    server.stderr.on('data', onData)
    server.once('exit', (code) => reject(new Error(`serve exited ${code}: ${output}`)))
  })
  const health = await run(process.execPath, ['dist/main.js', 'healthcheck'], { cwd: dir, env })
  t.is(health.stderr, '')
  // …and the health check fails once the proxy is gone.
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)))
  server.kill('SIGTERM')
  t.is(await exited, 0, 'SIGTERM ends the container process cleanly')
  const after = await run(process.execPath, ['dist/main.js', 'healthcheck'], { cwd: dir, env }).then(() => 0, (e: { code: number }) => e.code)
  t.is(after, 1)
})
