/** LedOutput, the one place that changes the LEDs: order of off / release, and the truth of the reported state. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type LedBackend, LedOutput, SimBackend } from '@gravity-led/led-driver';
import { createLogger, type Duty, decodeLedState, encodeLedState, type LedState, OFF } from '@gravity-led/shared';

const log = createLogger('test', { LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });

/** A backend that writes down every call, in one list shared with the reports, so their order can be checked. */
class RecordingBackend implements LedBackend {
  readonly name = 'recording';
  failNextWrite = false;
  constructor(readonly events: string[]) {}
  write(duty: Duty): void {
    if (this.failNextWrite) {
      this.failNextWrite = false;
      this.events.push(`write-failed ${duty.left}/${duty.right}`);
      throw new Error('pin went away');
    }
    this.events.push(`write ${duty.left}/${duty.right}`);
  }
  async close(): Promise<void> {
    // A real backend takes a moment to let go: the close must be awaited, not fired and forgotten.
    await new Promise((resolve) => setTimeout(resolve, 5));
    this.events.push('close');
  }
  closeSync(): void {
    this.events.push('close-sync');
  }
}

function setup() {
  const events: string[] = [];
  const reports: LedState[] = [];
  const backend = new RecordingBackend(events);
  const output = new LedOutput(
    backend,
    (state) => {
      reports.push(state);
      events.push(`report ${state.reason} ${state.left}/${state.right}`);
    },
    log,
  );
  return { events, reports, backend, output };
}

describe('LedOutput', () => {
  it('starts with both LEDs off', () => {
    const { events, output } = setup();
    assert.deepEqual(events, ['write 0/0']);
    assert.equal(output.current.reason, 'start');
    assert.equal(output.lit, false);
  });

  it('on close turns both off, then releases the hardware, and reports `shutdown`', async () => {
    const { events, output } = setup();
    output.apply({ left: 0, right: 60 }, 'gravity');
    events.length = 0;
    await output.close();
    assert.deepEqual(events, ['write 0/0', 'report shutdown 0/0', 'close']);
    assert.deepEqual(
      { left: output.current.left, right: output.current.right, reason: output.current.reason },
      {
        left: 0,
        right: 0,
        reason: 'shutdown',
      },
    );
  });

  it('on close reports `shutdown` even when the LEDs were already off for another reason', async () => {
    const { events, output } = setup();
    output.apply({ left: 25, right: 0 }, 'gravity');
    output.apply(OFF, 'stale');
    events.length = 0;
    await output.close();
    assert.deepEqual(events, ['write 0/0', 'report shutdown 0/0', 'close']);
    assert.equal(output.current.reason, 'shutdown');
  });

  it('after close nothing reaches the hardware, and a second close does nothing', async () => {
    const { events, output } = setup();
    await output.close();
    events.length = 0;
    assert.equal(output.apply({ left: 0, right: 90 }, 'gravity'), false);
    await output.close();
    assert.deepEqual(events, []);
    assert.equal(output.lit, false);
  });

  it('reports every change with its reason, and only changes', () => {
    const { reports, output } = setup();
    assert.equal(output.apply({ left: 0, right: 40 }, 'gravity', 7), true);
    assert.equal(output.apply({ left: 0, right: 40 }, 'gravity', 8), false);
    assert.equal(output.apply(OFF, 'broker-lost'), true);
    assert.equal(output.apply(OFF, 'stale'), false, 'already off: the first reason stays, it is why they went dark');
    assert.deepEqual(
      reports.map((s) => [s.reason, s.left, s.right, s.seq]),
      [
        ['gravity', 0, 40, 7],
        ['broker-lost', 0, 0, undefined],
      ],
    );
  });

  it('says in the next report which numbered frames were applied without a change, so none is awaited as an echo', () => {
    const { reports, output } = setup();
    output.apply({ left: 0, right: 40 }, 'gravity', 1);
    // Held still: applied, nothing written, nothing reported.
    for (let seq = 2; seq <= 5; seq++) assert.equal(output.apply({ left: 0, right: 40 }, 'gravity', seq), false);
    output.apply({ left: 0, right: 41 }, 'gravity', 6);
    output.apply({ left: 0, right: 42 }, 'gravity', 7);
    output.apply({ left: 0, right: 42 }, 'manual'); // no number: nothing to say of it
    output.apply(OFF, 'stale');
    assert.deepEqual(
      reports.map((s) => [s.seq, s.unchanged]),
      [
        [1, undefined],
        [6, 5],
        [7, undefined],
        [undefined, undefined],
      ],
    );
    // Carried by the state on MQTT, and read back by the gateway.
    const encoded = encodeLedState(reports[1] as LedState);
    assert.match(encoded, /"seq":6,"unchanged":5,/);
    assert.equal(decodeLedState(encoded)?.unchanged, 5);
    assert.equal(decodeLedState('{"left":0,"right":1,"reason":"gravity","unchanged":"5"}')?.unchanged, undefined);
  });

  it('a failing write turns both off and reports off with reason `hardware-fault`, not what was asked', () => {
    const { events, backend, output } = setup();
    backend.failNextWrite = true;
    output.apply({ left: 0, right: 70 }, 'gravity');
    assert.deepEqual(events.slice(1), ['write-failed 0/70', 'write 0/0', 'report hardware-fault 0/0']);
    assert.equal(output.lit, false);
  });
});

describe('SimBackend with a file (LED_SIM_FILE)', () => {
  it('keeps the current duty in the file, and says when it was released', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gravity-led-sim-'));
    try {
      const file = join(dir, 'leds.json');
      const sim = new SimBackend(file);
      const read = () => JSON.parse(readFileSync(file, 'utf8')) as { left: number; right: number; closed: boolean };
      assert.deepEqual(read(), { left: 0, right: 0, closed: false, pid: process.pid });
      sim.write({ left: 12.5, right: 0 });
      assert.equal(read().left, 12.5);
      await sim.close();
      assert.deepEqual(read(), { left: 0, right: 0, closed: true, pid: process.pid });
      assert.throws(() => sim.write({ left: 1, right: 0 }), /closed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
