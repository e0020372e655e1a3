import type { ConfigProblem } from '../errors.js'
import { compileRule, type PathRule } from '../rules/path-rules.js'

/** Compiles a setting's path rules; each invalid one is a problem of that setting. */
export function compileSettingRules(rules: readonly string[], setting: string, problems: ConfigProblem[]): readonly PathRule[] {
  const compiled: PathRule[] = []
  for (const rule of rules) {
    const result = compileRule(rule)
    if (typeof result === 'string') problems.push({ setting, message: result })
    else compiled.push(result)
  }
  return Object.freeze(compiled)
}
