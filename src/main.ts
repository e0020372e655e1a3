#!/usr/bin/env -S MALLOC_TRIM_THRESHOLD_=134217728 node --initial-old-space-size=64
// How the product runs, on every launcher: this line (npx c66-proxy), `npm start` and the
// Dockerfile (ENV and ENTRYPOINT) set the same (a test checks; the bench reads this line).
// - --initial-old-space-size=64 keeps V8 from collecting the old generation over and over while a
//   big transfer runs after a burst of small requests: there, uploads cost 2x the CPU per MiB (~30
//   full collections per 600 MiB) and with it none (`npm run bench`, 200 MiB uploads).
// - MALLOC_TRIM_THRESHOLD_ (glibc): a transfer allocates two 64 KiB buffers per chunk (the socket
//   read and the HTTP parser's copy of the body), freed together, tens of MiB at a time, by each
//   young-generation collection. With glibc's default 128 KiB threshold that memory went back to
//   the kernel and was faulted in again page by page: ~270,000 page faults and ~45 % more CPU per
//   600 MiB downloaded, in some processes and not others, depending on heap layout (the "bimodal"
//   transfers of `npm run bench`'s downloads and uploads). At 32 MiB it still happened in 3 runs of 4; at 128 MiB in none
//   (~10,000 faults). It commits no memory, but what start-up frees stays mapped: ~7 MB more idle
//   RSS (measured). Other libcs ignore it.
import { buildProgram } from './cli/commands.js'

// The only module that touches process.argv and process.env.
await buildProgram(process.env).parseAsync(process.argv)
