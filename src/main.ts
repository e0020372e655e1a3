#!/usr/bin/env -S MALLOC_TRIM_THRESHOLD_=134217728 node --initial-old-space-size=64
// How the product runs, on every launcher: this line (npx c66-proxy), `npm start` and the
// Dockerfile (ENV and ENTRYPOINT) set the same (a test checks; the bench reads this line).
// - --initial-old-space-size=64 keeps V8 from collecting the old generation over and over while a
//   big transfer runs after a burst of small requests: there, uploads cost 2x the CPU per MiB (~30
//   full collections per 600 MiB) and with it none (bench W4).
// - MALLOC_TRIM_THRESHOLD_ (glibc): each young-generation collection frees the ~15 MiB of 64 KiB
//   socket buffers a transfer went through since the last one; with glibc's default 128 KiB
//   threshold that memory was handed back to the kernel and faulted in again page by page,
//   ~270,000 page faults and ~45 % more CPU per 600 MiB downloaded, depending on heap layout
//   (the "bimodal" transfers in bench W3/W4). Kept up to 32 MiB, it is reused: ~10,000 faults.
//   It commits no memory; freed memory beyond 32 MiB is still returned. Ignored by other libcs.
import { buildProgram } from './cli/commands.js'

// The only module that touches process.argv and process.env.
await buildProgram(process.env).parseAsync(process.argv)
