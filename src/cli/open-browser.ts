import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

/**
 * What a browser opener needs of the environment to find the user's desktop session and browser,
 * and nothing else: not CLOUD66_ACCESS_TOKEN, C66_CLIENT_SECRET, C66_PROXY_SECRET or whatever else
 * the shell that ran `c66-proxy login` holds. The opener and the browser it starts would otherwise
 * inherit them, and keep them for as long as the browser runs.
 */
const OPENER_ENV = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LC_ALL',
  'TMPDIR',
  'BROWSER',
  'DISPLAY',
  'WAYLAND_DISPLAY',
  'XAUTHORITY',
  'DBUS_SESSION_BUS_ADDRESS',
  'XDG_RUNTIME_DIR',
  'XDG_CURRENT_DESKTOP',
  'XDG_SESSION_TYPE',
  'XDG_DATA_DIRS',
  'XDG_CONFIG_HOME',
  'XDG_CONFIG_DIRS',
  'XDG_DATA_HOME',
  'DESKTOP_SESSION',
  'KDE_FULL_SESSION',
  'GNOME_DESKTOP_SESSION_ID',
  // Windows: where the system and the user's profile are.
  'SystemRoot',
  'windir',
  'USERPROFILE',
  'APPDATA',
  'LOCALAPPDATA',
  'ComSpec',
  'PATHEXT',
] as const

export function openerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {}
  for (const name of OPENER_ENV) if (env[name] !== undefined) out[name] = env[name]
  return out
}

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** A page that sends the browser on to `url`, with a link for browsers that do not follow. */
export function handOffPage(url: string): string {
  const href = escapeAttr(url)
  return `<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer"><meta http-equiv="refresh" content="0;url=${href}"><title>c66-proxy login</title><p><a href="${href}">Continue to Cloud 66</a></p>\n`
}

export interface BrowserHandOff {
  /** Removes the hand-off file; call when the login is over. */
  close(): Promise<void>
}

/**
 * Opens `url` in the user's browser without putting it on any command line: any account on the
 * machine can read every process's argv in /proc/PID/cmdline, and the authorization URL holds the
 * login's state, PKCE challenge and callback secret. The URL goes into a file only this user can
 * read (0600, in a fresh 0700 directory), and the opener is given that file's path. Never throws:
 * the URL has been printed for the user to open by hand.
 */
export async function openInBrowser(url: string, env: NodeJS.ProcessEnv = process.env): Promise<BrowserHandOff> {
  let dir: string | undefined
  try {
    dir = await mkdtemp(join(tmpdir(), 'c66-proxy-login-'))
    const page = join(dir, 'login.html')
    await writeFile(page, handOffPage(url), { mode: 0o600, flag: 'wx' })
    const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open'
    const child = spawn(command, [process.platform === 'win32' ? page : pathToFileURL(page).href], { stdio: 'ignore', detached: true, env: openerEnv(env) })
    child.on('error', () => undefined) // no opener: the URL is printed anyway
    child.unref()
  } catch {
    // printed already
  }
  const made = dir
  return { close: async () => (made === undefined ? undefined : rm(made, { recursive: true, force: true })) }
}
