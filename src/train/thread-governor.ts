// Decides, step by step, whether a multi-threaded backend runs its kernels on its worker threads
// or on the calling thread alone, by timing whole training steps both ways and keeping the faster:
// an A/B test that repeats. On an idle machine two threads run a step ~1.7x faster; when another
// process holds a core, a worker that loses its core in the middle of a job makes the other
// thread wait for it, and one thread can be faster. A whole step (tens of ms) compares reliably
// where one kernel call (microseconds) does not.
// Not here: how the backend shares work (src/backend/wasm/thread-pool.ts), or any clock: the
// caller times the steps.

/** Steps timed before the first decision (compilation, warm-up). */
const SKIP = 3;
/** Steps of the other mode per probe; the first is not counted (caches, waking threads). */
const PROBE = 4;
/** Recent steps of the current mode that a probe is compared with. */
const RECENT = 5;
/**
 * Steps between probes: starts at MIN, doubles while the current mode keeps winning; a probe is
 * 4 steps, so after the first few hundred steps under 2% of steps are probes.
 */
const MIN_INTERVAL = 32;
const MAX_INTERVAL = 256;
/** The other mode must be this much faster (relative) to take over: noise is not a reason. */
const MARGIN = 0.08;
/**
 * Steps before the workers are tried again after they lost: doubles each time they win a probe
 * but lose again within FLIP_FLOP steps (a busy core can look free for a few steps: the
 * scheduler favours a thread that has just woken), back to MIN_INTERVAL once they last.
 */
const MAX_RETRY = 1024;
const FLIP_FLOP = 128;
/** Steps in a row this much slower than the current mode's median start a probe early. */
const SLOWER = 1.25;
const SLOW_STEPS = 3;

export class ThreadGovernor {
  /** the mode steps run in when not probing: true = with the workers */
  multi = true;
  /** switches between modes so far (a probe that changed the mode) */
  switches = 0;
  /** probes run so far */
  probes = 0;
  /** steps recorded, and those of them run on the calling thread alone */
  steps = 0;
  aloneSteps = 0;
  private seen = 0;
  /** steps until the next probe, and the current interval */
  private untilProbe = MIN_INTERVAL;
  private interval = MIN_INTERVAL;
  /** probe steps left (0: not probing) */
  private probing = 0;
  private slowRun = 0;
  /** steps before the workers get another probe after losing one, and when they last took over */
  private retry = MIN_INTERVAL;
  private multiSince = -1;
  /** after a switch: the median step time of the mode left, until the new mode has RECENT steps */
  private leftMs = 0;
  /** the last RECENT step times of the current mode, and of the probe (ring buffers) */
  private readonly recent = new Float64Array(RECENT);
  private nRecent = 0;
  private readonly probe = new Float64Array(PROBE - 1);
  private nProbe = 0;
  private readonly sorted = new Float64Array(RECENT);

  /** Whether the next step should use the worker threads. */
  get useWorkers(): boolean {
    return this.probing > 0 ? !this.multi : this.multi;
  }

  /**
   * Records the time (ms) of the step that just ran (in the mode useWorkers gave) and returns
   * the mode of the next step.
   */
  record(step: { readonly ms: number }): boolean {
    // an object, not a number: a double passed to a call is boxed on the JavaScript heap
    const ms = step.ms;
    this.steps++;
    if (!this.useWorkers) this.aloneSteps++;
    if (++this.seen <= SKIP || !(ms > 0)) return this.useWorkers;
    if (this.probing > 0) {
      // the first probe step pays for the switch (cold caches, threads waking): not counted
      if (this.probing < PROBE) this.probe[this.nProbe++] = ms;
      if (--this.probing === 0) this.decide();
      return this.useWorkers;
    }
    const median = this.nRecent >= RECENT ? this.median(this.recent, RECENT) : 0;
    this.recent[this.nRecent++ % RECENT] = ms;
    // the first steps after a switch: if the new mode is slower than the one left (it won its
    // probe by luck, or only while a woken thread was favoured), go back at once
    if (this.leftMs > 0 && this.nRecent >= 3) {
      const left = this.leftMs;
      if (this.nRecent >= RECENT) this.leftMs = 0;
      if (this.median(this.recent, Math.min(this.nRecent, RECENT)) > left * (1 + MARGIN)) {
        this.switchMode(left);
        return this.useWorkers;
      }
    }
    // the machine got slower in this mode (another process started?): look again soon
    this.slowRun = median > 0 && ms > SLOWER * median ? this.slowRun + 1 : 0;
    if (this.slowRun >= SLOW_STEPS) {
      this.slowRun = 0;
      this.untilProbe = 0;
    }
    if (--this.untilProbe <= 0 && this.nRecent >= RECENT) {
      this.probing = PROBE;
      this.nProbe = 0;
      this.probes++;
    }
    return this.useWorkers;
  }

  private decide(): void {
    const mine = this.median(this.recent, RECENT);
    const other = this.median(this.probe, this.nProbe);
    if (other < mine * (1 - MARGIN)) {
      this.switchMode(mine);
      return;
    }
    if (!this.multi) {
      // one thread is still faster
      this.interval = Math.max(this.retry, Math.min(MAX_INTERVAL, this.interval * 2));
    } else {
      this.interval = Math.min(MAX_INTERVAL, this.interval * 2);
    }
    this.untilProbe = this.interval;
  }

  /** Changes mode; leftMs = the median step time of the mode left (checked against the new one). */
  private switchMode(leftMs: number): void {
    this.multi = !this.multi;
    this.switches++;
    this.nRecent = 0;
    this.slowRun = 0;
    if (this.multi) {
      // the workers won: the next steps are checked against one thread's time (leftMs)
      this.multiSince = this.seen;
      this.leftMs = leftMs;
      this.interval = MIN_INTERVAL;
    } else {
      // the workers lost: wait longer each time they lose again soon after winning
      const flipFlop = this.multiSince >= 0 && this.seen - this.multiSince < FLIP_FLOP;
      this.retry = flipFlop ? Math.min(MAX_RETRY, this.retry * 2) : MIN_INTERVAL;
      this.leftMs = flipFlop ? 0 : leftMs;
      this.interval = this.retry;
    }
    this.untilProbe = this.interval;
  }

  /** Median of the first n values of a (n <= RECENT), without allocating. */
  private median(a: Float64Array, n: number): number {
    const s = this.sorted;
    for (let i = 0; i < n; i++) {
      // insertion sort of at most RECENT values
      const v = a[i]!;
      let j = i - 1;
      while (j >= 0 && s[j]! > v) {
        s[j + 1] = s[j]!;
        j--;
      }
      s[j + 1] = v;
    }
    return n % 2 === 1 ? s[n >> 1]! : 0.5 * (s[n / 2 - 1]! + s[n / 2]!);
  }
}
