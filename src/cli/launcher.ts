/**
 * npm forwards SIGTERM and SIGINT only to the process it started itself (@npmcli/run-script's
 * signal-manager), and for `npx c66-proxy` and `npm start` that process is `sh -c '…'`, not the
 * proxy. /bin/sh (dash) dies of the signal without passing it on, so `kill -TERM <npx pid>` left
 * the proxy orphaned and still listening. When npm launched us (it sets
 * npm_lifecycle_event), we therefore also leave when the process that started us goes away: a
 * reparented process sees its parent id change. Ctrl-C in a terminal and `docker stop` signal the
 * proxy itself and need none of this.
 *
 * Only for npm launches: a proxy started directly and detached on purpose (`nohup`, `setsid`, a
 * shell's `&` before the shell exits) must outlive its parent.
 */
export function leaveWithLauncher(env: NodeJS.ProcessEnv, onGone: () => void, checkEveryMs = 1_000): () => void {
  if (env['npm_lifecycle_event'] === undefined) return () => undefined
  const parent = process.ppid
  // Already reparented before we looked: there is no launcher left to follow.
  if (parent <= 1) return () => undefined
  const timer = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(timer)
    onGone()
  }, checkEveryMs)
  timer.unref()
  return () => clearInterval(timer)
}
