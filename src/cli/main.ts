#!/usr/bin/env node
// The `tsgpt` entry point: finds the command, parses its flags, runs it, and turns errors into
// one line on stderr and an exit code (2: usage, 1: other failures, 130: Ctrl-C, 143: SIGTERM),
// system errors too (src/util/file-error.ts has the words), and a failed standard output as well.
// It holds no command logic itself.
//
// Adding a command is a one-line change: write `src/cli/commands/<name>.ts` exporting
// `name`, `summary`, `flags`, `run(args, ctx)` (and optionally `description`, `positionals`,
// `examples`, `handlesInterrupt`; see `Command` in ./args.ts), then add its line to COMMANDS
// below, e.g.  `train: () => import('./commands/train.js'),`
// Commands load lazily, so `tsgpt prepare` never loads the training engine.

import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TsgptError, UsageError } from '../errors.js';
import { describeErrno, describeSystemError, errnoCode } from '../util/file-error.js';
import { type Command, closest, formatHelp, parseArgs } from './args.js';
import { clearActiveProgress } from './progress.js';

/** The command registry, in the order `tsgpt --help` lists them. */
export const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  prepare: () => import('./commands/prepare.js'),
  train: () => import('./commands/train.js'),
  sample: () => import('./commands/sample.js'),
  eval: () => import('./commands/eval.js'),
  ladder: () => import('./commands/ladder.js'),
  seq2seq: () => import('./commands/seq2seq.js'),
  bench: () => import('./commands/bench.js'),
  export: () => import('./commands/export.js'),
  import: () => import('./commands/import.js'),
  tokenizer: () => import('./commands/tokenizer.js'),
  quantize: () => import('./commands/quantize.js'),
  studio: () => import('./commands/studio.js'),
  lessons: () => import('./commands/lessons.js'),
};

const PROGRAM_HELP = (version: string, commands: readonly Command[]): string => {
  const w = Math.max(...commands.map((c) => c.name.length), 8);
  return [
    `tsgpt ${version}: a GPT built from scratch in TypeScript`,
    '',
    'Usage: tsgpt <command> [flags]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'Start here (Tiny Shakespeare, the quick preset; --preset baby is nanoGPT’s own):',
    '  tsgpt prepare && tsgpt train && tsgpt sample',
    '',
    'Flags:',
    '  -h, --help     show this help (tsgpt <command> --help: that command’s flags)',
    '  -v, --version  print the version',
    '',
    'Set TSGPT_DEBUG=1 to print stack traces on errors.',
    '',
  ].join('\n');
};

/** The package version, read from package.json next to dist/. */
export function version(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'tsgpt' && pkg.version) return pkg.version;
    } catch {
      // try the next location (running from src/ vs dist/src/)
    }
  }
  return 'unknown';
}

async function loadCommand(name: string): Promise<Command> {
  const load = COMMANDS[name];
  if (!load) {
    const names = Object.keys(COMMANDS);
    const near = closest(name, names);
    throw new UsageError(
      `unknown command "${name}"${near ? `; did you mean ${near}?` : ''} (commands: ${names.join(', ')})`,
    );
  }
  return load();
}

/** One line for an error: `tsgpt train: data file not found: x.txt`. */
export function formatError(err: unknown, commandName?: string): string {
  const prefix = commandName ? `tsgpt ${commandName}: ` : 'tsgpt: ';
  const debug = !!process.env['TSGPT_DEBUG'];
  if (err instanceof TsgptError) {
    const line = prefix + oneLine(err.message);
    return debug && err.stack ? `${line}\n${err.stack}` : line;
  }
  // a system error no command wrapped (a file it could not open, ...): still the file and the reason
  const system = describeSystemError(err);
  if (system !== undefined) {
    const line = prefix + oneLine(system);
    return debug && err instanceof Error ? `${line}\n${err.stack ?? ''}` : line;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const line = `${prefix}internal error: ${e.name}: ${oneLine(e.message)}`;
  return debug ? `${line}\n${e.stack ?? ''}` : `${line} (set TSGPT_DEBUG=1 for a stack trace)`;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** The command run last (for the line that reports a failed standard output, which may come after it returns). */
let running: string | undefined;

/** Exit codes of the signals a long command stops cleanly on: 128 + the signal's number. */
const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Run the CLI on argv (without `node` and the script path); resolves to the exit code.
 * For a command with handlesInterrupt, installs SIGINT and SIGTERM handlers while it runs.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  let command: Command | undefined;
  const controller = new AbortController();
  let stoppedBy: keyof typeof STOP_SIGNALS | undefined;
  // Only commands that declare handlesInterrupt get these handlers (the first Ctrl-C or SIGTERM
  // aborts ctx.signal, a second one quits). Others keep Node's default, which kills at once even in
  // a busy synchronous loop, where a JS handler would never get to run.
  const onSignal = (signal: keyof typeof STOP_SIGNALS) => {
    clearActiveProgress();
    if (stoppedBy !== undefined) {
      process.stderr.write('\ntsgpt: interrupted\n');
      process.exit(STOP_SIGNALS[signal]);
    }
    stoppedBy = signal;
    process.stderr.write(
      `\ntsgpt: ${signal === 'SIGINT' ? '' : `${signal}: `}stopping at the next safe point ` +
        `(${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to quit now)\n`,
    );
    controller.abort();
  };
  const onSigint = () => onSignal('SIGINT');
  const onSigterm = () => onSignal('SIGTERM');
  try {
    if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
      // one broken command module must not take the whole help page down with it
      const loaded = await Promise.allSettled(Object.keys(COMMANDS).map(loadCommand));
      const commands = loaded.map((r, i) =>
        r.status === 'fulfilled'
          ? r.value
          : ({
              name: Object.keys(COMMANDS)[i]!,
              summary: `(failed to load: ${oneLine(String(r.reason))})`,
              flags: [],
              run() {},
            } satisfies Command),
      );
      const text = PROGRAM_HELP(version(), commands);
      if (first === undefined) {
        process.stderr.write(text);
        return 2;
      }
      // `tsgpt help train` is `tsgpt train --help`
      if (first === 'help' && rest[0] !== undefined) {
        process.stdout.write(formatHelp(await loadCommand(rest[0])));
        return 0;
      }
      process.stdout.write(text);
      return 0;
    }
    if (first === '-v' || first === '--version') {
      process.stdout.write(`tsgpt ${version()}\n`);
      return 0;
    }
    if (first.startsWith('-')) throw new UsageError(`unknown flag ${first} (see tsgpt --help)`);
    command = await loadCommand(first);
    const args = parseArgs(command, rest);
    if (args.help) {
      process.stdout.write(formatHelp(command));
      return 0;
    }
    if (command.handlesInterrupt) {
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigterm);
    }
    running = command.name;
    const code = (await command.run(args, { signal: controller.signal })) ?? 0;
    return stoppedBy !== undefined ? STOP_SIGNALS[stoppedBy] : code;
  } catch (err) {
    clearActiveProgress();
    process.stderr.write(formatError(err, command?.name) + '\n');
    if (stoppedBy !== undefined) return STOP_SIGNALS[stoppedBy];
    return err instanceof UsageError ? 2 : 1;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * What a failed standard stream does. stdout: a closed pipe (`tsgpt sample | head`) is not an
 * error (exit 0); any other failure (`> /dev/full`: no space left on device) is one line on
 * stderr and exit 1. stderr: where would it be said? Ignored; the command goes on, and its
 * exit code still tells.
 */
export function guardStandardStreams(): void {
  process.stdout.on('error', (e) => {
    if (errnoCode(e) === 'EPIPE') process.exit(0);
    clearActiveProgress();
    process.stderr.write(
      `${running ? `tsgpt ${running}: ` : 'tsgpt: '}cannot write to standard output: ${describeErrno(e)}\n`,
    );
    process.exit(1);
  });
  process.stderr.on('error', () => {});
}

if (isEntryPoint()) {
  guardStandardStreams();
  // an error thrown outside a command's await chain (an event handler, a timer) is still one line
  const last = (err: unknown) => {
    clearActiveProgress();
    process.stderr.write(`${formatError(err, running)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', last);
  process.on('unhandledRejection', last);
  runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
