#!/usr/bin/env node
import { buildProgram } from './cli/commands.js'

// The only module that touches process.argv and process.env.
await buildProgram(process.env).parseAsync(process.argv)
