// `tsgpt lessons`: lists the learning path (lessons/*.md in the package: thirteen lessons from
// the models before the transformer to training a GPT) and says how to open them: in the
// studio, where every cell runs and can be edited. It reads each file's front matter for the
// title and run time only; the lesson format itself is lessons/runtime/parse.ts's (the tests
// check that both read the same titles). It runs no lesson.

import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { TsgptError } from '../../errors.js';
import type { Args, FlagSpec } from '../args.js';

export const name = 'lessons';
export const summary = 'List the thirteen lessons of the learning path, and how to open them';
export const description =
  'Each lesson is a Markdown file in lessons/ with TypeScript cells that build a piece of the ' +
  'transformer from plain arrays, then check it against tsgpt. Open them in the studio ' +
  '(`tsgpt studio`, then the Lessons tab): every cell runs in the page and can be edited. ' +
  '`npm test` runs every lesson (quick mode) and checks what each claims.';
export const flags: readonly FlagSpec[] = [
  { name: 'port', type: 'int', min: 0, max: 65535, default: 4173, help: 'the studio port the links use' },
];
export const examples = ['tsgpt lessons'];

/** lessons/ of the package (this file is dist/src/cli/commands/lessons.js). */
export const LESSONS_DIR = fileURLToPath(new URL('../../../../lessons/', import.meta.url));

export interface LessonEntry {
  id: string;
  title: string;
  /** the front matter's time line: "quick 2 s, full 2 min" */
  time: string;
}

/** The lessons in lessons/, in order, with their titles and run times. */
export async function listLessons(dir = LESSONS_DIR): Promise<LessonEntry[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => /^\d\d-[a-z0-9-]+\.md$/.test(f)).sort();
  } catch {
    throw new TsgptError(`lessons: no lessons folder at ${dir} (this tsgpt was installed without lessons/)`);
  }
  const out: LessonEntry[] = [];
  for (const f of files) {
    const text = await readFile(`${dir}${f}`, 'utf8');
    const front = /^---\n([\s\S]*?)\n---/.exec(text.replace(/\r\n/g, '\n'))?.[1] ?? '';
    const field = (key: string) => new RegExp(`^${key}:\\s*(.+)$`, 'm').exec(front)?.[1]?.trim();
    const title = field('title');
    const time = field('time');
    if (!title || !time) throw new TsgptError(`lessons: ${dir}${f} has no title or time in its front matter`);
    out.push({ id: f.replace(/\.md$/, ''), title, time });
  }
  return out;
}

export async function run(args: Args): Promise<void> {
  const lessons = await listLessons();
  const port = args.int('port')!;
  const w = Math.max(...lessons.map((l) => l.title.length));
  const lines = [
    `The learning path: ${lessons.length} lessons (${LESSONS_DIR})`,
    '',
    ...lessons.map(
      (l) => `  ${l.id.slice(0, 2)}  ${l.title.padEnd(w)}  ${l.time.replace(/^quick [^,]+,\s*full\s*/, '~')}`,
    ),
    '',
    'Open them in your browser, where every cell runs and can be edited:',
    `  tsgpt studio${port === 4173 ? '' : ` --port ${port}`}`,
    `  then http://127.0.0.1:${port}/#lessons (lesson 00: http://127.0.0.1:${port}/#lessons/${lessons[0]?.id ?? '00'})`,
    'Or read them as text: each is a Markdown file in the folder above.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}
