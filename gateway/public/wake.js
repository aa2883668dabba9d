/**
 * Keeps the screen on while the phone is the controller (Screen Wake Lock API). The browser drops the lock whenever
 * the page is hidden, so it is taken again when the page is visible again, for as long as it is wanted.
 */
export class ScreenAwake {
  /** @param {(awake: boolean, note: string) => void} onChange */
  constructor(onChange) {
    this.onChange = onChange;
    this.wanted = false;
    this.sentinel = null;
    document.addEventListener('visibilitychange', () => {
      if (this.wanted && document.visibilityState === 'visible') this.acquire();
    });
  }

  keep() {
    this.wanted = true;
    return this.acquire();
  }

  async release() {
    this.wanted = false;
    const sentinel = this.sentinel;
    this.sentinel = null;
    if (sentinel && !sentinel.released) await sentinel.release().catch(() => {});
    this.onChange(false, '');
  }

  async acquire() {
    if (!('wakeLock' in navigator)) {
      this.onChange(false, 'This browser cannot keep the screen on: keep it awake yourself.');
      return;
    }
    if (this.sentinel && !this.sentinel.released) return;
    try {
      const sentinel = await navigator.wakeLock.request('screen');
      if (!this.wanted) {
        await sentinel.release(); // stopped while the request was on its way
        return;
      }
      this.sentinel = sentinel;
      sentinel.addEventListener('release', () => {
        if (this.sentinel === sentinel) this.onChange(false, this.wanted ? 'Screen may sleep while the page is hidden.' : '');
      });
      this.onChange(true, 'Screen kept on while controlling.');
    } catch (error) {
      this.onChange(false, `The screen may turn off (${error.message}).`);
    }
  }
}
