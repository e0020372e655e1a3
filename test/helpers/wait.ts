import type { Simulator, SimulatorRequestRecord } from '../../src/simulator/index.js'

/**
 * Calls `attempt` until it returns a value other than undefined. Event-driven in spirit: each
 * round does one real request and looks at what happened; the deadline only stops a broken test
 * from hanging, it is never what the test asserts.
 */
export async function until<T>(what: string, attempt: () => Promise<T | undefined>, safetyMs = 15_000, pauseMs = 25): Promise<T> {
  const deadline = Date.now() + safetyMs
  for (;;) {
    const value = await attempt()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, pauseMs))
  }
}

/** Resolves with the next record the simulator makes that matches `pick`. */
export function nextRecord(sim: Simulator, pick: (r: SimulatorRequestRecord) => boolean, safetyMs = 15_000): Promise<SimulatorRequestRecord> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sim.events.off('request', onRecord)
      reject(new Error('gave up waiting for a simulator request'))
    }, safetyMs)
    const onRecord = (record: SimulatorRequestRecord) => {
      if (!pick(record)) return
      clearTimeout(timer)
      sim.events.off('request', onRecord)
      resolve(record)
    }
    sim.events.on('request', onRecord)
  })
}

/**
 * Sends GET `<proxy><path>` and returns the token the simulator saw for it (undefined when nothing
 * reached the simulator). Meant for tokens the simulator accepts: its JSON endpoints record a
 * request before answering it, so the record is there once the response has ended.
 */
export async function tokenSeenUpstream(sim: Simulator, proxyUrl: string, path = '/stacks'): Promise<string | undefined> {
  const before = sim.requests.length
  const res = await fetch(`${proxyUrl}${path}`)
  await res.arrayBuffer()
  return sim.requests.slice(before).at(-1)?.token
}

/** Polls the proxy until the simulator receives `token`; resolves with how many polls it took. */
export async function untilUpstreamSees(sim: Simulator, proxyUrl: string, token: string, safetyMs = 15_000): Promise<number> {
  let polls = 0
  return until(
    `the simulator to receive the expected token`,
    async () => {
      polls += 1
      return (await tokenSeenUpstream(sim, proxyUrl)) === token ? polls : undefined
    },
    safetyMs,
  )
}
