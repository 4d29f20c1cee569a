// A small declarative command-line parser: each command declares its flags and positionals,
// and gets back typed values or a one-line UsageError, plus generated `--help` text.
// It is deliberately not a general-purpose library: no short flags except -h, no repeated
// flags, no subcommands (main.ts dispatches on the first word).

import { UsageError } from '../errors.js';

export type FlagType = 'string' | 'int' | 'float' | 'bool';
export type FlagValue = string | number | boolean;

/** One `--name value` flag. Names are kebab-case, without the leading `--`. */
export interface FlagSpec {
  readonly name: string;
  readonly type: FlagType;
  readonly help: string;
  /** Value when the flag is not given (bool flags default to false). */
  readonly default?: FlagValue;
  /** Allowed values of a string flag. */
  readonly choices?: readonly string[];
  /** Inclusive bounds of an int/float flag. */
  readonly min?: number;
  readonly max?: number;
  /** The flag must be given (use for flags without a sensible default). */
  readonly required?: boolean;
  /** Placeholder shown in help, e.g. `FILE` for `--data FILE` (default: the type, upper-case). */
  readonly metavar?: string;
}

export interface PositionalSpec {
  readonly name: string;
  readonly help: string;
  /** Required unless `optional: true`. */
  readonly optional?: boolean;
  /** Takes all remaining positionals (must be last). */
  readonly variadic?: boolean;
}

/** What a command declares about its command line. */
export interface CommandSpec {
  readonly name: string;
  /** One line, shown in `tsgpt --help`. */
  readonly summary: string;
  /** A paragraph shown in `tsgpt <name> --help` (defaults to the summary). */
  readonly description?: string;
  readonly flags: readonly FlagSpec[];
  readonly positionals?: readonly PositionalSpec[];
  /** Full example command lines, e.g. `tsgpt prepare --data input.txt`. */
  readonly examples?: readonly string[];
}

/** What a running command gets besides its parsed arguments. */
export interface CommandContext {
  /** Aborted on Ctrl-C when the command declares `handlesInterrupt` (e.g. to save a checkpoint). */
  readonly signal: AbortSignal;
}

/**
 * A CLI command: its spec plus `run`. A module `src/cli/commands/<name>.ts` that exports
 * `name`, `summary`, `flags` and `run` (and optionally the other fields) is a Command.
 */
export interface Command extends CommandSpec {
  /**
   * When true, Ctrl-C aborts `ctx.signal` and main waits for `run` to return, then exits 130
   * (a second Ctrl-C quits at once). `run` must yield to the event loop now and then (an
   * `await` of a timer every few steps) or the signal is never seen. When false, Ctrl-C kills.
   */
  readonly handlesInterrupt?: boolean;
  /** Returns the exit code (default 0); throws TsgptError subclasses for expected failures. */
  // biome-ignore lint/suspicious/noConfusingVoidType: lets a plain `async run() {}` (Promise<void>) be a command
  run(args: Args, ctx: CommandContext): void | number | Promise<void | number>;
}

/**
 * Parsed command line: flag values (defaults filled in) and positionals.
 * Accessors check the declared type, so a typo in a flag name fails loudly in development.
 * @example
 * const args = parseArgs(spec, ['--lr', '3e-4', 'out.ckpt']);
 * args.float('lr'); // 0.0003
 */
export class Args {
  /** True when -h/--help was given; the other values are then not validated. */
  readonly help: boolean;
  readonly positionals: readonly string[];
  private readonly values: ReadonlyMap<string, FlagValue>;
  private readonly given: ReadonlySet<string>;
  private readonly spec: CommandSpec;

  constructor(
    spec: CommandSpec,
    values: ReadonlyMap<string, FlagValue>,
    given: ReadonlySet<string>,
    positionals: readonly string[],
    help: boolean,
  ) {
    this.spec = spec;
    this.values = values;
    this.given = given;
    this.positionals = positionals;
    this.help = help;
  }

  /** Whether the flag was given on the command line (not just defaulted). */
  has(name: string): boolean {
    this.flag(name);
    return this.given.has(name);
  }

  string(name: string): string | undefined {
    return this.typed(name, 'string') as string | undefined;
  }
  int(name: string): number | undefined {
    return this.typed(name, 'int') as number | undefined;
  }
  float(name: string): number | undefined {
    return this.typed(name, 'float') as number | undefined;
  }
  bool(name: string): boolean {
    return (this.typed(name, 'bool') as boolean | undefined) ?? false;
  }

  /** A positional by its declared name (variadic ones: use `positionals`). */
  positional(name: string): string | undefined {
    const specs = this.spec.positionals ?? [];
    const i = specs.findIndex((p) => p.name === name);
    if (i < 0) throw new Error(`${this.spec.name}: no positional named ${name}`);
    return this.positionals[i];
  }

  /** All flag values that are set (given or defaulted), keyed by flag name. */
  entries(): [string, FlagValue][] {
    return [...this.values];
  }

  private flag(name: string): FlagSpec {
    const f = this.spec.flags.find((x) => x.name === name);
    // a programming error, not a usage error: the command asked for a flag it never declared
    if (!f) throw new Error(`${this.spec.name}: no flag named --${name}`);
    return f;
  }

  private typed(name: string, type: FlagType): FlagValue | undefined {
    const f = this.flag(name);
    if (f.type !== type) throw new Error(`${this.spec.name}: --${name} is a ${f.type} flag, read as ${type}`);
    return this.values.get(name);
  }
}

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * Parse argv (without the program and command words) against a command's spec.
 * Accepts `--flag value`, `--flag=value`, `--bool`, `--no-bool`, `--bool=true|false`,
 * `-h`/`--help`, and `--` to end flags. Throws UsageError with one line on bad input.
 */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): Args {
  try {
    return parse(spec, argv);
  } catch (err) {
    // asking for help wins over any mistake elsewhere on the line (`tsgpt train --lrr 1 -h`)
    const dd = argv.indexOf('--');
    const flagPart = dd < 0 ? argv : argv.slice(0, dd);
    if (err instanceof UsageError && (flagPart.includes('-h') || flagPart.includes('--help')))
      return new Args(spec, new Map(), new Set(), [], true);
    throw err;
  }
}

function parse(spec: CommandSpec, argv: readonly string[]): Args {
  const fail = (msg: string): never => {
    throw new UsageError(`${msg} (see tsgpt ${spec.name} --help)`);
  };
  const byName = new Map(spec.flags.map((f) => [f.name, f]));
  const values = new Map<string, FlagValue>();
  const given = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') return new Args(spec, new Map(), new Set(), [], true);
    if (!arg.startsWith('-') || arg === '-' || NUMBER_RE.test(arg)) {
      positionals.push(arg);
      continue;
    }
    if (!arg.startsWith('--')) fail(`unknown flag ${arg}`);
    const eq = arg.indexOf('=');
    let name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    let inline: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    let f = byName.get(name);
    let negated = false;
    if (!f && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'bool') {
      name = name.slice(3);
      f = byName.get(name)!;
      negated = true;
      if (inline !== undefined) fail(`--no-${name} takes no value`);
    }
    if (!f) {
      const near = closest(
        name,
        spec.flags.map((x) => x.name),
      );
      fail(`unknown flag --${name}${near ? `; did you mean --${near}?` : ''}`);
    }
    const flag = f!;
    if (given.has(name)) fail(`--${name} given twice`);
    given.add(name);
    if (flag.type === 'bool') {
      if (negated) values.set(name, false);
      else if (inline === undefined || inline === 'true') values.set(name, true);
      else if (inline === 'false') values.set(name, false);
      else fail(`--${name} is a switch: use --${name} or --no-${name}, not "${inline}"`);
      continue;
    }
    if (inline === undefined) {
      const next = argv[i + 1];
      // a following word is this flag's value unless it is itself a flag (negative numbers are values)
      if (next === undefined || next === '--' || (next.startsWith('--') && next.length > 2))
        fail(
          `--${name} needs a value (${metavar(flag)})` +
            (next?.startsWith('--') ? `; for a value that starts with --, write --${name}=VALUE` : ''),
        );
      inline = next!;
      i++;
    }
    values.set(name, convert(flag, inline, fail));
  }

  for (const f of spec.flags) {
    if (values.has(f.name)) continue;
    if (f.required) fail(`missing required flag --${f.name} ${metavar(f)}`);
    if (f.default !== undefined) values.set(f.name, f.default);
  }

  const pos = spec.positionals ?? [];
  const variadic = pos.length > 0 && pos[pos.length - 1]!.variadic === true;
  const needed = pos.filter((p) => !p.optional).length;
  if (positionals.length < needed) fail(`missing argument ${pos[positionals.length]!.name.toUpperCase()}`);
  if (!variadic && positionals.length > pos.length) fail(`unexpected argument "${positionals[pos.length]}"`);
  return new Args(spec, values, given, positionals, false);
}

/** Metavars of flags that name a file or directory: an empty value names nothing. */
const PATH_METAVARS: ReadonlySet<string> = new Set(['FILE', 'DIR', 'DIR|FILE', 'CKPT']);

function convert(f: FlagSpec, raw: string, fail: (msg: string) => never): FlagValue {
  if (f.type === 'string') {
    if (raw === '' && f.metavar !== undefined && PATH_METAVARS.has(f.metavar))
      fail(`--${f.name} needs a path (${f.metavar}), got an empty one`);
    if (f.choices && !f.choices.includes(raw))
      fail(`--${f.name} must be one of ${f.choices.join('|')}, got "${raw}"`);
    return raw;
  }
  const n = NUMBER_RE.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (f.type === 'int' && !Number.isSafeInteger(n)) fail(`--${f.name} expects an integer, got "${raw}"`);
  if (!Number.isFinite(n)) fail(`--${f.name} expects a number, got "${raw}"`);
  if (f.min !== undefined && n < f.min) fail(`--${f.name} must be >= ${f.min}, got ${raw}`);
  if (f.max !== undefined && n > f.max) fail(`--${f.name} must be <= ${f.max}, got ${raw}`);
  return n;
}

function metavar(f: FlagSpec): string {
  return f.metavar ?? (f.choices ? f.choices.join('|') : f.type.toUpperCase());
}

/** The candidate within edit distance 2 of `name` (for "did you mean"), if any. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** A default as help shows it: plain when it is one simple word, else quoted (`"\n"`, `""`). */
function showDefault(v: FlagValue): string {
  return typeof v === 'string' && !/^[\w./:@+,=-]+$/.test(v) ? JSON.stringify(v) : String(v);
}

/** Words of `text` in lines of at most `width` characters (longer words stand alone). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/\s+/).filter(Boolean)) {
      if (line && line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    lines.push(line);
  }
  return lines;
}

/** `--help` text for a command: usage, description, positionals, flags with defaults, examples. */
export function formatHelp(spec: CommandSpec): string {
  const pos = (spec.positionals ?? []).map((p) => {
    const n = p.name.toUpperCase() + (p.variadic ? '...' : '');
    return p.optional ? `[${n}]` : n;
  });
  const lines = [`Usage: tsgpt ${spec.name} [flags]${pos.length ? ` ${pos.join(' ')}` : ''}`, ''];
  lines.push(...wrap(spec.description ?? spec.summary, 80), '');
  if (spec.positionals?.length) {
    lines.push('Arguments:');
    const w = Math.max(...spec.positionals.map((p) => p.name.length));
    for (const p of spec.positionals) lines.push(`  ${p.name.toUpperCase().padEnd(w)}  ${p.help}`);
    lines.push('');
  }
  const rows: [string, string][] = spec.flags.map((f) => {
    const left = f.type === 'bool' ? `--[no-]${f.name}` : `--${f.name} ${metavar(f)}`;
    const notes: string[] = [];
    if (f.required) notes.push('required');
    if (f.default !== undefined && !(f.type === 'bool' && f.default === false))
      notes.push(`default: ${showDefault(f.default)}`);
    if (f.min !== undefined && f.max !== undefined) notes.push(`range ${f.min}..${f.max}`);
    else if (f.min !== undefined) notes.push(`>= ${f.min}`);
    else if (f.max !== undefined) notes.push(`<= ${f.max}`);
    return [left, notes.length ? `${f.help} (${notes.join(', ')})` : f.help];
  });
  rows.push(['-h, --help', 'show this help']);
  const w = Math.min(30, Math.max(...rows.map(([l]) => l.length)));
  lines.push('Flags:');
  for (const [l, r] of rows)
    lines.push(l.length > w ? `  ${l}\n  ${' '.repeat(w)}  ${r}` : `  ${l.padEnd(w)}  ${r}`);
  if (spec.examples?.length) {
    lines.push('', 'Examples:');
    for (const e of spec.examples) lines.push(`  ${e}`);
  }
  return lines.join('\n') + '\n';
}
