import { Gauge, type Registry } from 'prom-client'
import type { BudgetBook } from './budget-book.js'

/**
 * `c66_proxy_upstream_budget_used` and `…_remaining`, read from the book at scrape time. In
 * gateway mode they are labelled by member (members are a bounded set, and each is a Cloud 66
 * user with a budget of their own); local mode has one user and no label. Each replica reports
 * what it sent itself; Cloud 66's remaining (when it says) is the same everywhere.
 */
export function registerBudgetGauges(registry: Registry, book: BudgetBook, byMember: boolean, local: string): void {
  const labelNames = byMember ? (['member'] as const) : ([] as const)
  new Gauge({
    name: 'c66_proxy_upstream_budget_used',
    help: 'Requests sent to Cloud 66 in the current clock hour, against its hourly budget per user',
    labelNames,
    registers: [registry],
    collect() {
      this.reset()
      if (!byMember) this.set(book.view(local).used)
      else for (const id of book.ids()) this.set({ member: id }, book.view(id).used)
    },
  })
  new Gauge({
    name: 'c66_proxy_upstream_budget_remaining',
    help: "Requests left in the current clock hour: Cloud 66's X-RateLimit-Remaining when it sent one, else --upstream-budget minus those sent",
    labelNames,
    registers: [registry],
    collect() {
      this.reset()
      const set = (id: string, labels?: { member: string }) => {
        const remaining = book.view(id).remaining
        if (remaining === undefined) return
        if (labels) this.set(labels, remaining)
        else this.set(remaining)
      }
      if (!byMember) set(local)
      else for (const id of book.ids()) set(id, { member: id })
    },
  })
}
