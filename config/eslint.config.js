// Flat config for ESLint; lives in config/ so the top level keeps the layout of the design card.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.bench/**', '.smoke/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // Koa stays at the edge: only src/http/, src/proxy/handler.ts and the composition root may import it.
    files: ['src/**/*.ts'],
    ignores: ['src/http/**', 'src/app.ts', 'src/app-gateway.ts', 'src/proxy/handler.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['koa', 'koa-router'] }],
    },
  },
)
