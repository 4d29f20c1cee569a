// The page's state: the engine's latest state and the streams it sends (loss history, health
// measurements, generated tokens), kept in one place that every view reads and subscribes to.
// Tests read the same object (window.tsgptStudio): the numbers the page holds, not its pixels.

import { Engine } from './engine/client.js';
import type {
  EngineState,
  EvalPoint,
  GeneratedToken,
  Health,
  History,
  InsideResult,
  StepPoint,
} from './engine/protocol.js';

type Topic = 'state' | 'steps' | 'history' | 'health' | 'tokens' | 'inside' | 'notice' | 'sample';

export class Studio {
  readonly engine = new Engine();
  state: EngineState = {
    engine: null,
    data: null,
    model: null,
    status: 'empty',
    step: 0,
    maxIters: 0,
    bestValLoss: null,
    savedStep: null,
  };
  history: History = { steps: [], evals: [] };
  /** health measurements of the current run, oldest first (the last 400) */
  health: Health[] = [];
  /** the last look inside (Inside view) */
  inside: InsideResult | null = null;
  /** the tokens of the last generation */
  generated: GeneratedToken[] = [];
  /** what the model wrote at the last evaluation */
  sample: { step: number; text: string } | null = null;
  /** the last notice the engine sent on its own (e.g. training stopped on an error) */
  notice: { level: 'info' | 'error'; text: string } | null = null;
  private readonly subs = new Map<Topic, Set<() => void>>();

  constructor() {
    const e = this.engine;
    e.on('state', (ev) => {
      this.state = ev.state;
      this.emit('state');
    });
    e.on('history', (ev) => {
      this.history = ev.history;
      this.health = [];
      this.sample = null;
      this.emit('history');
    });
    e.on('steps', (ev) => {
      this.history.steps.push(...ev.points);
      const last: StepPoint | undefined = ev.points.at(-1);
      if (last) this.state = { ...this.state, step: last.step };
      this.emit('steps');
    });
    e.on('eval', (ev) => {
      const p: EvalPoint = ev.point;
      this.history.evals.push(p);
      this.emit('steps');
    });
    e.on('health', (ev) => {
      this.health.push(ev.health);
      if (this.health.length > 400) this.health.shift();
      this.emit('health');
    });
    e.on('tokens', (ev) => {
      this.generated.push(...ev.tokens);
      this.emit('tokens');
    });
    e.on('sample', (ev) => {
      this.sample = { step: ev.step, text: ev.text };
      this.emit('sample');
    });
    e.on('notice', (ev) => {
      this.notice = { level: ev.level, text: ev.text };
      this.emit('notice');
    });
  }

  on(topic: Topic, fn: () => void): void {
    let s = this.subs.get(topic);
    if (!s) this.subs.set(topic, (s = new Set()));
    s.add(fn);
  }

  emit(topic: Topic): void {
    for (const fn of this.subs.get(topic) ?? []) fn();
  }
}
