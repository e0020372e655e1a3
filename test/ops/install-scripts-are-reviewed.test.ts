// npm 11 blocks dependencies' install scripts unless package.json's `allowScripts` covers them,
// and `npm ci` ended with a warning about every one not yet reviewed (esbuild's postinstall).
// Each is decided in package.json, and what was denied is shown not to be needed.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'

const root = new URL('../../', import.meta.url).pathname
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall']

interface Manifest {
  name?: string
  version?: string
  scripts?: Record<string, string>
  allowScripts?: Record<string, boolean>
}

const manifest = (dir: string): Manifest | undefined => {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest
  } catch {
    return undefined
  }
}

/** Every installed package (scoped and nested ones too) with an install script. */
function withInstallScripts(dir = join(root, 'node_modules')): string[] {
  const found: string[] = []
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return found
  }
  for (const entry of entries) {
    if (entry.startsWith('.')) continue
    const path = join(dir, entry)
    if (entry.startsWith('@')) {
      found.push(...withInstallScripts(path))
      continue
    }
    const m = manifest(path)
    if (m?.name !== undefined && INSTALL_SCRIPTS.some((s) => m.scripts?.[s] !== undefined)) found.push(`${m.name}@${m.version ?? ''}`)
    found.push(...withInstallScripts(join(path, 'node_modules')))
  }
  return found
}

test("every dependency with an install script is decided in package.json's allowScripts", (t) => {
  const allow = manifest(root)?.allowScripts ?? {}
  const found = withInstallScripts()
  t.true(found.length > 0, 'esbuild has a postinstall script: the scan sees it')
  for (const pkg of found) {
    const name = pkg.slice(0, pkg.lastIndexOf('@'))
    t.true(allow[name] !== undefined || allow[pkg] !== undefined, `${pkg} is neither allowed nor denied`)
  }
  t.is(allow['esbuild'], false, "esbuild's postinstall is denied")
})

test('esbuild works without its postinstall (the platform binary comes from its optional dependency), so tsx does too', async (t) => {
  const { transform } = await import('esbuild')
  const out = await transform('const x: number = 1; export default x', { loader: 'ts' })
  t.regex(out.code, /const x = 1;/)
})
