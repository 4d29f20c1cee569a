#!/usr/bin/env node
// The `tsgpt` entry point: finds the command, parses its flags, runs it, and turns errors into
// one line on stderr and an exit code (2: usage, 1: other failures, 130: Ctrl-C). It holds no
// command logic itself.
//
// Adding a command is a one-line change: write `src/cli/commands/<name>.ts` exporting
// `name`, `summary`, `flags`, `run(args, ctx)` (and optionally `description`, `positionals`,
// `examples`, `handlesInterrupt`; see `Command` in ./args.ts), then add its line to COMMANDS
// below, e.g.  `train: () => import('./commands/train.js'),`
// Commands load lazily, so `tsgpt prepare` never loads the training engine.

import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TsgptError, UsageError } from '../errors.js';
import { type Command, closest, formatHelp, parseArgs } from './args.js';
import { clearActiveProgress } from './progress.js';

/** The command registry, in the order `tsgpt --help` lists them. */
export const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  prepare: () => import('./commands/prepare.js'),
  train: () => import('./commands/train.js'),
  sample: () => import('./commands/sample.js'),
  eval: () => import('./commands/eval.js'),
  bench: () => import('./commands/bench.js'),
  export: () => import('./commands/export.js'),
  import: () => import('./commands/import.js'),
  tokenizer: () => import('./commands/tokenizer.js'),
  studio: () => import('./commands/studio.js'),
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
    'Start here (Tiny Shakespeare, the baby preset):',
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
  const e = err instanceof Error ? err : new Error(String(err));
  const line = `${prefix}internal error: ${e.name}: ${oneLine(e.message)}`;
  return debug ? `${line}\n${e.stack ?? ''}` : `${line} (set TSGPT_DEBUG=1 for a stack trace)`;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Run the CLI on argv (without `node` and the script path); resolves to the exit code.
 * For a command with handlesInterrupt, installs a SIGINT handler while it runs.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  let command: Command | undefined;
  const controller = new AbortController();
  let interrupted = false;
  // Only commands that declare handlesInterrupt get a SIGINT handler (first Ctrl-C aborts
  // ctx.signal, a second one quits). Others keep Node's default, which kills at once even in a
  // busy synchronous loop, where a JS handler would never get to run.
  const onSigint = () => {
    clearActiveProgress();
    if (interrupted) {
      process.stderr.write('\ntsgpt: interrupted\n');
      process.exit(130);
    }
    interrupted = true;
    process.stderr.write('\ntsgpt: stopping at the next safe point (Ctrl-C again to quit now)\n');
    controller.abort();
  };
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
    if (command.handlesInterrupt) process.on('SIGINT', onSigint);
    const code = (await command.run(args, { signal: controller.signal })) ?? 0;
    return interrupted ? 130 : code;
  } catch (err) {
    clearActiveProgress();
    process.stderr.write(formatError(err, command?.name) + '\n');
    if (interrupted) return 130;
    return err instanceof UsageError ? 2 : 1;
  } finally {
    process.off('SIGINT', onSigint);
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

if (isEntryPoint()) {
  // `tsgpt sample | head`: a closed pipe is not an error
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
