import type { Clock } from '../clock.js'
import type { TokenStore } from '../store/types.js'
import { HOUR_MS, windowOf, type BudgetBook, type BudgetHint, type BudgetView } from './budget-book.js'

/**
 * The gateway's budgets as every replica and the operator's CLI see them. Each replica counts
 * in memory (a store write per request would put the store on the hot path) and writes what it
 * has sent per member to the shared store every FLUSH_MS, one document per member and replica,
 * expiring after the window. A view adds up every replica's document for the current window,
 * replacing this replica's (possibly older) document with its live count.
 */

const NS = 'budget'
export const FLUSH_MS = 10_000

interface Report {
  readonly window: number
  readonly used: number
  readonly hint: BudgetHint | null
  readonly refusing: BudgetView['refusing'] | null
}

export class BudgetLedger {
  readonly #timer: NodeJS.Timeout
  readonly #written = new Map<string, string>()

  constructor(
    private readonly store: TokenStore,
    private readonly book: BudgetBook,
    private readonly clock: Clock,
    private readonly replica: string,
  ) {
    this.#timer = setInterval(() => void this.flush().catch(() => undefined), FLUSH_MS)
    this.#timer.unref()
  }

  /** Writes each member's count that changed since the last write. */
  async flush(): Promise<void> {
    for (const id of this.book.ids()) {
      const v = this.book.view(id)
      const report: Report = { window: v.windowStart, used: v.used, hint: v.hint ?? null, refusing: v.refusing ?? null }
      const text = JSON.stringify(report)
      if (this.#written.get(id) === text) continue
      // Kept past the window's end so that a CLI run just after it still reads a complete view.
      await this.store.putDoc(NS, docId(id, this.replica), text, v.windowEnd + HOUR_MS - this.clock.now())
      this.#written.set(id, text)
      if (this.#written.size > 100_000) this.#written.delete(this.#written.keys().next().value as string)
    }
  }

  /** Every member's budget across replicas, this replica's own count live. */
  async views(): Promise<Map<string, BudgetView>> {
    const shared = await readBudgets(this.store, this.book.budget, this.clock.now(), this.replica)
    for (const id of this.book.ids()) shared.set(id, combine(shared.get(id), this.book.view(id)))
    return shared
  }

  close(): void {
    clearInterval(this.#timer)
  }
}

/**
 * The budgets the replicas reported for the current window, by member (the CLI's view; a
 * replica passes its own name to leave its document out and add its live count instead).
 */
export async function readBudgets(store: TokenStore, budget: number | undefined, now: number, skipReplica?: string): Promise<Map<string, BudgetView>> {
  const window = windowOf(now)
  const out = new Map<string, BudgetView>()
  for (const doc of await store.listDocs(NS)) {
    const { member, replica } = parseDocId(doc.id)
    if (member === undefined || replica === skipReplica) continue
    let report: Report
    try {
      report = JSON.parse(doc.value) as Report
    } catch {
      continue
    }
    if (report.window !== window) continue
    const view: BudgetView = {
      windowStart: window,
      windowEnd: window + HOUR_MS,
      used: report.used,
      budget,
      hint: report.hint ?? undefined,
      remaining: undefined,
      refusing: report.refusing ?? undefined,
    }
    out.set(member, combine(out.get(member), view))
  }
  return out
}

/** Two replicas' views of one member: counts add up, the later hint wins, either refusal shows. */
function combine(a: BudgetView | undefined, b: BudgetView): BudgetView {
  const used = (a?.used ?? 0) + b.used
  const hint = a?.hint === undefined ? b.hint : b.hint === undefined || a.hint.at > b.hint.at ? a.hint : b.hint
  const budget = b.budget
  const byCap = budget === undefined ? undefined : Math.max(0, budget - used)
  const byHint = hint === undefined ? undefined : Math.max(0, hint.remaining)
  return {
    windowStart: b.windowStart,
    windowEnd: b.windowEnd,
    used,
    budget,
    hint,
    remaining: byCap === undefined ? byHint : byHint === undefined ? byCap : Math.min(byCap, byHint),
    refusing: b.refusing ?? a?.refusing,
  }
}

const docId = (member: string, replica: string) => `${encodeURIComponent(member)}|${encodeURIComponent(replica)}`

function parseDocId(id: string): { member: string | undefined; replica: string | undefined } {
  const [m, r] = id.split('|')
  try {
    return { member: m === undefined ? undefined : decodeURIComponent(m), replica: r === undefined ? undefined : decodeURIComponent(r) }
  } catch {
    return { member: undefined, replica: undefined }
  }
}
