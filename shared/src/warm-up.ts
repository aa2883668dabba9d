/**
 * What the three start-up warm-ups (WARMUP_FRAMES) share: broker/src/warm-up.ts, gateway/src/warm-up.ts (or
 * gateway/src/warm-up-standalone.ts when the broker is another process's) and led-driver/src/warm-up.ts each drive
 * frames through a private copy of their own hot path before the service is ready, so that the first phone meets
 * compiled code (docs/performance.md). How long, in how many rounds, and how the first round is paced, are decided
 * here once for all three; the rounds themselves, their deadline, the stop and the first error, and the closing of
 * what each round opened, are run for all three by warm-up-rounds.ts.
 */

/**
 * The longest a warm-up may hold up a start, from its first step to its last frame, whatever the machine (a
 * Raspberry Pi 3 is several times slower than the machines that measured it); its bounded cleanup comes on top.
 */
export const WARMUP_DEADLINE_MS = 5000;

/**
 * Private copies the frames are shared out to, one after the other, each with parts of its own. V8's optimised code
 * is specialised to what it has seen, the closures and object shapes of one instance included: code learnt on a
 * single private copy is thrown away again by the real one's first frames. Measured with --trace-deopt and
 * --trace-opt over the first 200 frames of a fresh led-driver after 2000 frames: one round 37-38 deoptimisations and
 * 68-70 compilations, two 4-6 and 24-29, three 1-2 and 4, four 1 and 7; the gateway's first second after one round
 * 13-17 and 26, after three 3-4 and 6-8.
 */
export const WARMUP_ROUNDS = 3;

/**
 * The first round pauses PAUSE_MS before every PAUSE_EVERY-th frame, so that V8's compiler threads keep up: each
 * function the frames run is queued for compilation (Maglev) after a few hundred calls, most within the first few
 * hundred frames, and at full speed the jobs queued far faster than the compiler threads (two at most, on two cores
 * shared with the main thread) finished them; the memory those jobs took stays with the process once freed (glibc
 * keeps it). Measured: the led-driver's private drivers alone 86-89 MB of RSS unpaced, 78 MB with the first round
 * paced (V8's peak of compiler memory 11-12 MB against 5); the gateway's process under 200 Hz load +9 MB against no
 * warm-up unpaced, +5 MB with the first round paced, +3.4 MB with every round paced, for a start 0.8 s longer.
 */
export const WARMUP_PACING = { rounds: 1, every: 2, pauseMs: 1 } as const;

/** The frames of round `round` (0-based) when `frames` are shared out as evenly as whole frames go. */
export function warmUpShare(frames: number, round: number): number {
  return Math.floor((frames * (round + 1)) / WARMUP_ROUNDS) - Math.floor((frames * round) / WARMUP_ROUNDS);
}

/** Whether the frame after `answered` round trips of round `round` waits WARMUP_PACING.pauseMs first. */
export function warmUpPauses(round: number, answered: number): boolean {
  return round < WARMUP_PACING.rounds && answered > 0 && answered % WARMUP_PACING.every === 0;
}
