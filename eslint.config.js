// Flat config for ESLint, at the repository's root where editors and `npx eslint` find it.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

/**
 * The layers of src/, from the top down. A file may import its own layer's files and those of
 * the layers below it, never above: the composition root wires the modes, which wire the edge,
 * which calls the proxy, which uses tokens and the gateway's rules, which keep their state in
 * the store under the configuration, and everything may use the leaves. The simulator (a fake
 * Cloud 66 for tests and demos) stands apart.
 */
const LAYERS = [
  { name: 'top', files: ['src/main.ts', 'src/demo.ts', 'src/app.ts', 'src/open.ts', 'src/cli/**'] },
  { name: 'modes', files: ['src/modes/**'] },
  { name: 'edge', files: ['src/http/**'] },
  { name: 'proxy', files: ['src/proxy/**'] },
  { name: 'services', files: ['src/tokens/**', 'src/gateway/**', 'src/audit/**', 'src/oauth/**', 'src/budget/**'] },
  { name: 'base', files: ['src/store/**', 'src/config/**'] },
  {
    name: 'leaves',
    files: [
      'src/rules/**',
      'src/net/**',
      'src/formats/**',
      'src/errors.ts',
      'src/refusals.ts',
      'src/clock.ts',
      'src/metrics.ts',
      'src/log.ts',
      'src/secret.ts',
      'src/time-format.ts',
    ],
  },
]

/** How an import of a layer's files is spelled, from anywhere in src/ (relative paths only). */
const SPECIFIERS = {
  top: ['**/main.js', '**/demo.js', '**/app.js', '**/open.js', '**/cli/**'],
  modes: ['**/modes/**'],
  edge: ['**/http/**'],
  proxy: ['**/proxy/**'],
  services: ['**/tokens/**', '**/gateway/**', '**/audit/**', '**/oauth/**', '**/budget/**'],
  base: ['**/store/**', '**/config/**'],
}

const layerRules = LAYERS.map((layer, index) => {
  const above = LAYERS.slice(0, index).flatMap((l) => SPECIFIERS[l.name] ?? [])
  // The top layer runs the simulator (`c66-proxy simulate`, the demo); nothing else may use it.
  const restricted = layer.name === 'top' ? above : [...above, '**/simulator/**']
  return {
    files: layer.files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          // Koa stays at the edge: only the composition root, the edge and the proxy's request state and handler may import it.
          paths: ['top', 'edge'].includes(layer.name) ? [] : ['koa', 'koa-router'],
          patterns:
            restricted.length > 0
              ? [{ group: restricted, message: `the ${layer.name} layer may not import from a layer above it (see LAYERS in eslint.config.js)` }]
              : [],
        },
      ],
    },
  }
})

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.bench/**', '.smoke/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // Type-checked rules for the bugs this code could have: a promise nobody awaits (an error
      // that never reaches the error responder), a promise where a callback's result is ignored
      // (an event listener), and a switch over a union that forgets a member.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      'no-console': 'off',
    },
  },
  ...layerRules,
  {
    // The proxy's request state and handler are Koa middleware (the edge calls them); the proxy's other files are not.
    files: ['src/proxy/request-state.ts', 'src/proxy/handler.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...SPECIFIERS.top, ...SPECIFIERS.modes, ...SPECIFIERS.edge, '**/simulator/**'],
              message: 'the proxy layer may not import from a layer above it',
            },
          ],
        },
      ],
    },
  },
  {
    // The request path: every function on it fits on a screen.
    files: [
      'src/proxy/**',
      'src/http/edge.ts',
      'src/http/guards.ts',
      'src/http/framing.ts',
      'src/http/local-guard.ts',
      'src/http/gateway/guard.ts',
      'src/gateway/identify.ts',
      'src/gateway/admission.ts',
      'src/tokens/token-service.ts',
    ],
    rules: { 'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }] },
  },
)
