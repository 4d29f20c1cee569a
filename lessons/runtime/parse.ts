// A lesson's source file, read into its parts: the front matter (title, summary, the src/ files
// it teaches, how long it runs), the Markdown prose, and the fenced TypeScript cells in order.
// A cell's info string says its role: ```ts (runs in order), ```ts exercise N (the reader's
// attempt), ```ts solution N (a worked answer, hidden until asked for), ```ts check N (checks
// exercise N). Not here: running cells (run.ts) or rendering Markdown (the studio does).

/** What a code cell is for. */
export type CellRole = 'code' | 'exercise' | 'solution' | 'check';

export interface Cell {
  /** position among the lesson's cells, from 0 */
  index: number;
  role: CellRole;
  /** the exercise it belongs to ('1', '2', ...), for exercise, solution and check cells */
  exercise: string | null;
  source: string;
  /** line of the cell's first code line in the lesson file, from 1 */
  line: number;
}

export type Block = { kind: 'markdown'; text: string } | { kind: 'cell'; cell: Cell };

/** How long a lesson takes on a 2-core laptop, in seconds, in each mode. */
export interface RunTime {
  quick: number;
  full: number;
}

export interface LessonMeta {
  /** the file's name without .md: '04-self-attention' */
  id: string;
  /** its two-digit number: '04' */
  number: string;
  title: string;
  summary: string;
  /** the files in src/ where the real thing lives */
  src: string[];
  time: RunTime;
}

export interface Lesson {
  meta: LessonMeta;
  blocks: Block[];
  cells: Cell[];
}

/** A lesson file that does not follow the format: names the file, the line and the problem. */
export class LessonFormatError extends Error {
  override readonly name = 'LessonFormatError';
}

const FENCE = /^```(\S*)\s*(.*)$/;
const ROLES: readonly CellRole[] = ['exercise', 'solution', 'check'];

/**
 * Reads a lesson: `id` is its file name without .md ('04-self-attention'), `text` its content.
 * @example const lesson = parseLesson('00-introduction', readFileSync('lessons/00-introduction.md', 'utf8'));
 */
export function parseLesson(id: string, text: string): Lesson {
  const m = /^(\d\d)-[a-z0-9-]+$/.exec(id);
  if (!m) throw new LessonFormatError(`${id}: a lesson's name is NN-words-with-dashes`);
  const where = (line: number) => `lessons/${id}.md:${line}`;
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines[0] !== '---') throw new LessonFormatError(`${where(1)}: the file opens with front matter (---)`);
  const end = lines.indexOf('---', 1);
  if (end < 0) throw new LessonFormatError(`${where(1)}: the front matter is not closed (---)`);
  const fields = new Map<string, string>();
  for (let i = 1; i < end; i++) {
    const kv = /^([a-z]+):\s*(.*)$/.exec(lines[i]!);
    if (!kv) throw new LessonFormatError(`${where(i + 1)}: expected "key: value", got "${lines[i]}"`);
    fields.set(kv[1]!, kv[2]!.trim());
  }
  const need = (key: string): string => {
    const v = fields.get(key);
    if (!v) throw new LessonFormatError(`${where(1)}: the front matter has no "${key}"`);
    return v;
  };
  for (const key of fields.keys())
    if (!['title', 'summary', 'src', 'time'].includes(key))
      throw new LessonFormatError(`${where(1)}: unknown front matter key "${key}"`);
  const meta: LessonMeta = {
    id,
    number: m[1]!,
    title: need('title'),
    summary: need('summary'),
    src: need('src')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    time: parseRunTime(need('time'), where(1)),
  };

  const blocks: Block[] = [];
  const cells: Cell[] = [];
  let prose: string[] = [];
  const flush = () => {
    const t = prose.join('\n').trim();
    if (t) blocks.push({ kind: 'markdown', text: t });
    prose = [];
  };
  for (let i = end + 1; i < lines.length; i++) {
    const line = lines[i]!;
    const f = FENCE.exec(line);
    if (!f || f[1] !== 'ts') {
      // any other fenced block (```sh, ```text) is prose; skip over it whole so a ``` inside
      // it cannot open a cell
      if (f) {
        const close = lines.findIndex((l, j) => j > i && l.startsWith('```'));
        if (close < 0) throw new LessonFormatError(`${where(i + 1)}: this code block is not closed`);
        prose.push(...lines.slice(i, close + 1));
        i = close;
      } else prose.push(line);
      continue;
    }
    const info = f[2]!.trim().split(/\s+/).filter(Boolean);
    let role: CellRole = 'code';
    let exercise: string | null = null;
    if (info.length > 0) {
      if (!ROLES.includes(info[0] as CellRole) || info.length !== 2)
        throw new LessonFormatError(
          `${where(i + 1)}: a cell's info string is "ts", or "ts exercise|solution|check N"; got "${line}"`,
        );
      role = info[0] as CellRole;
      exercise = info[1]!;
    }
    const close = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    if (close < 0) throw new LessonFormatError(`${where(i + 1)}: this cell is not closed`);
    flush();
    const cell: Cell = {
      index: cells.length,
      role,
      exercise,
      source: lines.slice(i + 1, close).join('\n'),
      line: i + 2,
    };
    cells.push(cell);
    blocks.push({ kind: 'cell', cell });
    i = close;
  }
  flush();
  checkExercises(cells, where);
  return { meta, blocks, cells };
}

/** Each exercise has one exercise cell, then one solution, then one check, in that order. */
function checkExercises(cells: readonly Cell[], where: (line: number) => string): void {
  const seen = new Map<string, CellRole[]>();
  for (const c of cells) {
    if (c.exercise === null) continue;
    const roles = seen.get(c.exercise) ?? [];
    roles.push(c.role);
    seen.set(c.exercise, roles);
    const want = ['exercise', 'solution', 'check'][roles.length - 1];
    if (c.role !== want)
      throw new LessonFormatError(
        `${where(c.line - 1)}: exercise ${c.exercise} has its cells in the order exercise, solution, check; found ${c.role} where ${want ?? 'nothing more'} belongs`,
      );
  }
  for (const [n, roles] of seen)
    if (roles.length !== 3)
      throw new LessonFormatError(`lessons: exercise ${n} needs an exercise, a solution and a check cell`);
}

/** "quick 5 s, full 2 min" -> { quick: 5, full: 120 } */
export function parseRunTime(text: string, where: string): RunTime {
  const out: Partial<RunTime> = {};
  for (const part of text.split(',')) {
    const t = /^\s*(quick|full)\s+(\d+(?:\.\d+)?)\s*(s|min)\s*$/.exec(part);
    if (!t) throw new LessonFormatError(`${where}: time is "quick N s, full N min", got "${text}"`);
    out[t[1] as keyof RunTime] = Number(t[2]) * (t[3] === 'min' ? 60 : 1);
  }
  if (out.quick === undefined || out.full === undefined)
    throw new LessonFormatError(`${where}: time names both modes: "quick N s, full N min", got "${text}"`);
  return out as RunTime;
}

/** The exercise numbers of a lesson, in order. */
export function exercises(lesson: Lesson): string[] {
  return [...new Set(lesson.cells.flatMap((c) => (c.exercise === null ? [] : [c.exercise])))];
}
