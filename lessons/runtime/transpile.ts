// A cell's TypeScript made ready to run in a shared scope: Sucrase strips the types, then the
// top-level declarations (const/let/var, function, class, import) become assignments to the
// lesson's scope object, so the next cell sees what this one made, as in a notebook. Acorn finds
// those declarations; nothing else in the code changes. Not here: running it (run.ts).
// What notebook scope costs: a top-level const may be reassigned by a later cell.

import { parse } from 'acorn';
import { transform } from 'sucrase';

/** A cell that cannot be compiled: the message names the lesson line. */
export class CellSyntaxError extends Error {
  override readonly name = 'CellSyntaxError';
}

export interface CompiledCell {
  /** the body of an async function run inside `with (scope)` */
  body: string;
  /** names the cell declares at its top level */
  names: string[];
  /** the modules it imports, by specifier */
  imports: string[];
}

// the few acorn node shapes used here
interface Node {
  type: string;
  start: number;
  end: number;
  [k: string]: unknown;
}

/** The names a binding pattern declares: `{ a, b: [c, ...d] }` -> a, c, d. */
function patternNames(p: Node, out: string[]): void {
  switch (p.type) {
    case 'Identifier':
      out.push(p['name'] as string);
      break;
    case 'ObjectPattern':
      for (const prop of p['properties'] as Node[])
        patternNames((prop.type === 'RestElement' ? prop['argument'] : prop['value']) as Node, out);
      break;
    case 'ArrayPattern':
      for (const el of p['elements'] as (Node | null)[]) if (el) patternNames(el, out);
      break;
    case 'RestElement':
      patternNames(p['argument'] as Node, out);
      break;
    case 'AssignmentPattern':
      patternNames(p['left'] as Node, out);
      break;
  }
}

/**
 * Compiles one cell. `where` names it in errors ('lessons/04-self-attention.md:57'); `line` is
 * the lesson line of its first code line, so error positions point into the lesson file.
 */
export function compileCell(source: string, where: string, line = 1): CompiledCell {
  let js: string;
  try {
    js = transform(source, {
      transforms: ['typescript'],
      disableESTransforms: true,
      keepUnusedImports: true,
    }).code;
  } catch (e) {
    throw new CellSyntaxError(`${where}: ${shiftLines((e as Error).message, line)}`);
  }
  let program: Node;
  try {
    program = parse(js, {
      ecmaVersion: 'latest',
      sourceType: 'module',
      allowAwaitOutsideFunction: true,
    }) as unknown as Node;
  } catch (e) {
    throw new CellSyntaxError(`${where}: ${shiftLines((e as Error).message, line)}`);
  }
  const src = (n: Node) => js.slice(n.start, n.end);
  const names: string[] = [];
  const imports: string[] = [];
  const hoisted: string[] = []; // function declarations run first, as JavaScript hoists them
  const edits: { start: number; end: number; text: string }[] = [];
  const body = program['body'] as Node[];
  for (const node of body) {
    if (node.type === 'ImportDeclaration') {
      const from = (node['source'] as Node)['value'] as string;
      imports.push(from);
      const parts: string[] = [];
      for (const s of node['specifiers'] as Node[]) {
        const local = (s['local'] as Node)['name'] as string;
        names.push(local);
        const mod = `__import(${JSON.stringify(from)})`;
        if (s.type === 'ImportNamespaceSpecifier') parts.push(`${local} = ${mod};`);
        else if (s.type === 'ImportDefaultSpecifier') parts.push(`${local} = ${mod}.default;`);
        else {
          const imported = s['imported'] as Node;
          const key = (imported['name'] as string | undefined) ?? (imported['value'] as string);
          parts.push(`${local} = ${mod}[${JSON.stringify(key)}];`);
        }
      }
      edits.push({
        start: node.start,
        end: node.end,
        text: parts.join(' ') || `__import(${JSON.stringify(from)});`,
      });
    } else if (node.type === 'VariableDeclaration') {
      const parts: string[] = [];
      for (const d of node['declarations'] as Node[]) {
        const id = d['id'] as Node;
        patternNames(id, names);
        const init = d['init'] as Node | null;
        if (init) parts.push(`(${src(id)} = ${src(init)})`);
        else parts.push(`(${src(id)} = undefined)`);
      }
      edits.push({ start: node.start, end: node.end, text: `;${parts.join(', ')};` });
    } else if (node.type === 'FunctionDeclaration') {
      const name = (node['id'] as Node)['name'] as string;
      names.push(name);
      hoisted.push(`${name} = ${src(node)};`);
      edits.push({ start: node.start, end: node.end, text: '' });
    } else if (node.type === 'ClassDeclaration') {
      const name = (node['id'] as Node)['name'] as string;
      names.push(name);
      edits.push({ start: node.start, end: node.end, text: `;${name} = ${src(node)};` });
    } else if (node.type === 'ExportNamedDeclaration' || node.type === 'ExportDefaultDeclaration') {
      throw new CellSyntaxError(
        `${where}: a cell does not export; its top-level names are shared with the next cells`,
      );
    }
  }
  // the value of a last bare expression is shown, as a notebook does
  const last = body.filter((n) => n.type !== 'FunctionDeclaration').at(-1);
  if (last && last.type === 'ExpressionStatement') {
    const expr = last['expression'] as Node;
    edits.push({ start: last.start, end: last.end, text: `return (${src(expr)});` });
  }
  let out = js;
  for (const e of edits.sort((a, b) => b.start - a.start))
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return { body: `${hoisted.join('\n')}\n${out}`, names: [...new Set(names)], imports };
}

/** Moves "(line:col)" in a parser's message from the cell's lines to the lesson file's. */
function shiftLines(message: string, first: number): string {
  return message.replace(
    /\((\d+):(\d+)\)/,
    (_, l: string, c: string) => `(line ${Number(l) + first - 1}, column ${Number(c) + 1})`,
  );
}
