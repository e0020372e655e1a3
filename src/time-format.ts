/** Epoch ms as an ISO time for people (`never` when absent) and for JSON (`null` when absent). */
export const whenText = (ms: number | undefined): string => (ms === undefined ? 'never' : new Date(ms).toISOString())
export const whenJson = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString())
