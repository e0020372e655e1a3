#!/usr/bin/env -S node --initial-old-space-size=64
// The flag keeps V8 from collecting the old generation over and over while a big transfer runs
// after a burst of small requests: there, uploads cost 2x the CPU per MiB (~30 full collections
// per 600 MiB) and with it none (bench W4, README "Performance"). Every launcher uses the same
// flags: this line (npx c66-proxy), `npm start` and the Dockerfile's ENTRYPOINT (a test checks).
import { buildProgram } from './cli/commands.js'

// The only module that touches process.argv and process.env.
await buildProgram(process.env).parseAsync(process.argv)
