// The lesson runtime, shared by the tests (Node) and the studio's lesson page (a browser worker):
// parse a lesson file, run its cells in one scope, draw what they show. It imports no part of
// the library: the host hands 'tsgpt' to the lesson (LessonHost.modules).

export { type MathPiece, splitMath } from './math.js';
export {
  type Block,
  type Cell,
  type CellRole,
  exercises,
  type Lesson,
  LessonFormatError,
  type LessonMeta,
  parseLesson,
  type RunTime,
} from './parse.js';
export { renderOutput } from './render.js';
export {
  type CellResult,
  ClaimError,
  formatValue,
  isVisual,
  type LessonHost,
  LessonRun,
  type Output,
  type Visual,
} from './run.js';
export { CellSyntaxError, compileCell } from './transpile.js';
