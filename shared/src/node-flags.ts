/**
 * The V8 flags every service runs with, wherever it runs: `npm start` (the root package.json, whose process passes
 * them on to the led-driver it starts), `npm start -w <service>` (each service's package.json) and the image
 * (docker/entrypoint.sh). Those files cannot import this one, so test/unit/node-flags.test.ts checks that each says
 * exactly this. What each flag gave is measured in docs/performance.md ("Issue 16: what each change gave").
 */
export const NODE_FLAGS: readonly string[] = [
  // A young generation of at most 2 MB a half. V8 sizes it from the machine's memory (up to 32 MB a half on a large
  // one) and, once grown under load, keeps it: tens of MB of RSS per process for objects that live a frame. A
  // service's live heap is a few MB, so a small one costs only more frequent, short scavenges.
  '--max-semi-space-size=2',
  // Optimise up to Maglev, V8's mid-tier compiler, not TurboFan: each frame's JavaScript is a small part of what it
  // costs (system calls and wake-ups are most of it), while TurboFan's compilations hold memory of their own (its
  // zones, and a malloc heap that stays fragmented after them) and finish late, on the phone's first seconds.
  '--max-opt=2',
  // Compile on the main thread, between frames, instead of on compiler threads. The start-up warm-up (warm-up.ts)
  // queues hundreds of compilations in a second; on compiler threads their memory was freed into per-thread malloc
  // arenas that glibc keeps (16 MB more RSS for the two processes of npm start under load), and on two cores those
  // threads compete with the frames anyway. After the warm-up few compilations are left for a phone's session.
  '--no-concurrent-recompilation',
];
