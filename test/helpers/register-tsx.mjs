// Lets a worker thread of `npm run test:fast` import the TypeScript test files: worker threads do
// not take the --import=tsx flag the full run gives its child processes (see ava.fast.config.js).
import { register } from 'tsx/esm/api'

register()
