// Checks that need a system tool (Chromium, a container engine, shellcheck) run where the tool is: CI
// installs them (.ci/run) and there a missing tool fails the run; elsewhere `npm test` needs only Node
// and Java (the README's promise), so such a check says in one line that it did not run, and why.
import type { Test } from 'tap'

/** True when the check can run; otherwise CI=true fails `t`, and anywhere else one comment line says why. */
export function withSystemTool (t: Test, tool: { readonly name: string, readonly present: boolean, readonly why: string }): boolean {
  if (tool.present) return true
  if (process.env.CI === 'true') {
    t.fail(`${tool.name} is required under CI=true (.ci/run installs it): ${tool.why}`)
    return false
  }
  t.comment(`skipped: ${tool.why} (CI runs it)`)
  return false
}
