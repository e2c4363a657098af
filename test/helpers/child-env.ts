// The environment base for every process a test spawns. tap's processinfo injects itself into child
// processes (NODE_OPTIONS) and records their coverage too; children run TypeScript through tsx, whose
// transform maps lines differently from tap's, and merging the two garbled the whole report (files
// fully exercised showed their first lines as uncovered). Children therefore record no coverage:
// what they run is proven by their assertions, and counted only where tests load it in-process.
export const CHILD_ENV_BASE = {
  PATH: process.env.PATH,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  _TAPJS_PROCESSINFO_COVERAGE_: '0'
} as const
