// The layering the README promises, checked on the source: every import of every TypeScript file
// under src/ (static `import … from`, `export … from`, `import('…')` and `typeof import('…')` with
// a literal, type-only ones too) points down the layer list below or stays in its own layer; none
// leaves src/ (bench/, test/, studio/ and lessons/ sit above the library); and below src/cli only
// the adapter files named here touch Node (node:* or bare builtin modules, Node's globals).
// It parses the source with TypeScript's own parser (comments and strings are not imports);
// it runs and builds nothing.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, posix } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..'); // dist/test/ -> the repository

/**
 * src/ from the top down, as the house style lays it out (cli > train > sample > model > nn > ...
 * > backend, util and errors at the bottom): a file may import its own layer and the layers
 * after it, never one before it. One change from the house style's list, to match what the code
 * does: data/ sits above tokenizer/, since a prepared dataset carries its tokenizer
 * (src/data/dataset.ts reads it with src/tokenizer/). Files at the top of src/ are layers of
 * their own: index.ts (the public entry, which re-exports the library) and errors.ts.
 */
export const LAYERS = [
  'cli', // the `tsgpt` command: parses flags, prints, exits
  'index.ts', // the package's public entry ('tsgpt')
  'train', // run setup, the training loop, optimizers, checkpoints, evaluation
  'sample', // sampling and the generation loop
  'model', // GPT, its config
  'nn', // Module and the layers models share
  'data', // text and token files, splits, batches
  'tokenizer', // char, word, byte-level BPE, GPT-2
  'autograd', // the tape, backward, the differentiable ops
  'tensor', // Tensor: shape, dtype, storage
  'backend', // the Backend interface, ref/, wasm/
  'util', // rng, safetensors, atomic file writes
  'errors.ts', // the typed errors everything throws
] as const;

/** The only files below src/cli that may use Node: each one the Node side of a portable part. */
export const NODE_ADAPTERS = [
  'src/backend/wasm/node-platform.ts', // wasm: loads the .wasm file, starts worker threads
  'src/backend/wasm/node-worker.ts', // wasm: a worker thread's entry
  'src/data/node-io.ts', // data: reads, downloads and writes data files
  'src/train/node-data-parallel.ts', // train: starts a data-parallel group's ranks as threads
  'src/train/node-dp-worker.ts', // train: a data-parallel rank's thread
  'src/util/atomic-write.ts', // writes files atomically (temp file + rename)
];

/** Globals that exist in Node only (a browser has none of them). */
const NODE_GLOBALS = new Set(['process', 'Buffer', 'require', '__dirname', '__filename', 'setImmediate']);

/**
 * The AssemblyScript kernels are not TypeScript modules of the package: tsc does not compile
 * them (tsconfig's "exclude"), and they are skipped here wherever they live: at the root
 * (kernels/, outside src/ anyway) or beside the wasm backend (src/backend/wasm/kernels/).
 */
const ASSEMBLYSCRIPT_DIRS = ['kernels/', 'src/backend/wasm/kernels/'];

/** A file of the source: its path from the repository root (with /) and its text. */
export interface SourceFile {
  path: string;
  text: string;
}

interface Reference {
  /** what is imported: './x.js', 'node:fs', 'tsgpt', ... */
  spec: string;
  line: number;
  /** a Node-only global used by name instead of an import */
  global?: boolean;
}

/** Every module a file refers to, and every Node-only global it names, with line numbers. */
function references(file: SourceFile): Reference[] {
  const sf = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.ES2022, true);
  const out: Reference[] = [];
  const add = (spec: string, node: ts.Node, global = false) => {
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    out.push(global ? { spec, line, global } : { spec, line });
  };
  const literal = (n: ts.Node | undefined): string | undefined =>
    n && (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) ? n.text : undefined;
  const visit = (node: ts.Node): void => {
    let spec: string | undefined;
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) spec = literal(node.moduleSpecifier);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
      spec = literal(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument))
      spec = literal(node.argument.literal);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      spec = literal(node.moduleReference.expression);
    else if (ts.isIdentifier(node) && NODE_GLOBALS.has(node.text) && !isNameOnly(node))
      add(node.text, node, true);
    if (spec !== undefined) add(spec, node);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** An identifier that names a member or a declaration (`x.process`, `{ process: 1 }`), not the global. */
function isNameOnly(node: ts.Identifier): boolean {
  const p = node.parent;
  if (ts.isPropertyAccessExpression(p)) return p.name === node;
  if (ts.isQualifiedName(p)) return p.right === node;
  return (
    (ts.isPropertyAssignment(p) ||
      ts.isPropertyDeclaration(p) ||
      ts.isPropertySignature(p) ||
      ts.isMethodDeclaration(p) ||
      ts.isMethodSignature(p) ||
      ts.isVariableDeclaration(p) ||
      ts.isParameter(p) ||
      ts.isBindingElement(p) ||
      ts.isFunctionDeclaration(p) ||
      ts.isClassDeclaration(p) ||
      ts.isEnumMember(p)) &&
    p.name === node
  );
}

/** The layer of a path under src/: its first folder, or the file itself at the top of src/. */
function layerOf(path: string): string {
  // an import names the built file (../errors.js); the layer list names the source (errors.ts)
  return path.slice('src/'.length).split('/')[0]!.replace(/\.js$/, '.ts');
}

const isBuiltin = (spec: string) => spec.startsWith('node:') || builtinModules.includes(spec);

/**
 * Every broken rule, one line each: `src/model/gpt.ts:12: imports ../cli/args.js (cli), a layer
 * above model`. `dependencies`: the package's runtime dependencies (the only bare imports allowed
 * besides Node's own modules, and those only in the CLI and the adapters).
 */
export function layeringViolations(files: readonly SourceFile[], dependencies: readonly string[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    const from = layerOf(file.path);
    const rank = LAYERS.indexOf(from as (typeof LAYERS)[number]);
    const where = (line: number) => `${file.path}:${line}`;
    if (rank < 0) {
      out.push(`${where(1)}: ${from} is in no layer (add it to LAYERS in test/layering.test.ts)`);
      continue;
    }
    const nodeAllowed = from === 'cli' || NODE_ADAPTERS.includes(file.path);
    for (const { spec, line, global } of references(file)) {
      if (global) {
        if (!nodeAllowed)
          out.push(`${where(line)}: uses the Node-only global ${spec} outside the adapter files`);
      } else if (spec.startsWith('.')) {
        const target = posix.normalize(posix.join(posix.dirname(file.path), spec));
        if (!target.startsWith('src/')) {
          out.push(
            `${where(line)}: imports ${spec}, outside src/ (the library never imports ${target.split('/')[0]}/)`,
          );
          continue;
        }
        const to = layerOf(target);
        const toRank = LAYERS.indexOf(to as (typeof LAYERS)[number]);
        if (toRank < 0) out.push(`${where(line)}: imports ${spec} (${to}), which is in no layer`);
        else if (toRank < rank) out.push(`${where(line)}: imports ${spec} (${to}), a layer above ${from}`);
      } else if (isBuiltin(spec)) {
        if (!nodeAllowed)
          out.push(`${where(line)}: imports the Node-only module ${spec} outside the adapter files`);
      } else if (spec === 'tsgpt' || spec.startsWith('tsgpt/')) {
        out.push(`${where(line)}: imports the package by name (${spec}); import the file`);
      } else if (!dependencies.some((d) => spec === d || spec.startsWith(`${d}/`))) {
        out.push(`${where(line)}: imports ${spec}, which is not in package.json "dependencies"`);
      } else if (!nodeAllowed) {
        out.push(`${where(line)}: imports the package ${spec} outside src/cli and the adapter files`);
      }
    }
  }
  return out;
}

/** Every .ts file under src/, less the AssemblyScript kernels and whatever tsconfig excludes. */
function sourceFiles(): SourceFile[] {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile).config as {
    exclude?: string[];
  };
  const skip = [
    ...ASSEMBLYSCRIPT_DIRS,
    ...(config.exclude ?? []).map((e) => `${e.replace(/\/?(\*\*\/)?\*.*$|\/$/, '')}/`),
  ];
  const out: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!skip.includes(`${path}/`)) walk(path);
      } else if (path.endsWith('.ts') && !skip.some((s) => path.startsWith(s)))
        out.push({ path, text: readFileSync(join(ROOT, path), 'utf8') });
    }
  };
  walk('src');
  return out;
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
};
const DEPENDENCIES = Object.keys(pkg.dependencies ?? {});

describe('layering', () => {
  test('every import in src/ points down the layers, and Node stays in the adapters', () => {
    const files = sourceFiles();
    // the scan found the source: a broken walk must not pass by finding nothing
    assert.ok(files.length >= 40, `${files.length} files under src/`);
    assert.ok(
      files.some((f) => f.path === 'src/model/gpt.ts'),
      'src/model/gpt.ts scanned',
    );
    const imports = files.reduce((n, f) => n + references(f).filter((r) => !r.global).length, 0);
    assert.ok(imports >= 200, `${imports} imports found`);
    const bad = layeringViolations(files, DEPENDENCIES);
    assert.equal(bad.length, 0, `${bad.length} layering violation(s):\n${bad.join('\n')}`);
  });

  test('each adapter file exists (the list names real files)', () => {
    for (const path of NODE_ADAPTERS)
      assert.ok(existsSync(join(ROOT, path)), `${path} is in NODE_ADAPTERS but not in the repository`);
  });

  test('each rule catches what it should, with file:line (made-up files)', () => {
    const check = (path: string, text: string) => layeringViolations([{ path, text }], ['gpt-3-encoder']);
    // up the layers: static, export-from, dynamic, type-only, typeof import
    assert.deepEqual(check('src/model/x.ts', "\nimport { a } from '../cli/args.js';"), [
      'src/model/x.ts:2: imports ../cli/args.js (cli), a layer above model',
    ]);
    assert.match(check('src/nn/x.ts', "export { a } from '../model/gpt.js';")[0]!, /:1: .*a layer above nn/);
    assert.match(
      check('src/tensor/x.ts', "const m = await import('../autograd/ops.js');")[0]!,
      /above tensor/,
    );
    assert.match(
      check('src/backend/ref/x.ts', "import type { T } from '../../tensor/tensor.js';")[0]!,
      /above backend/,
    );
    assert.match(
      check(
        'src/util/x.ts',
        "type M = typeof import('../errors.js');\ntype N = typeof import('../data/batch.js');",
      )[0]!,
      /:2: .*\(data\), a layer above util/,
    );
    assert.match(check('src/data/x.ts', "import { b } from '../train/trainer.js';")[0]!, /above data/);
    // out of src/
    assert.match(
      check('src/cli/commands/x.ts', "import('../../../bench/run.js');")[0]!,
      /outside src\/ \(the library never imports bench\/\)/,
    );
    assert.match(
      check('src/train/x.ts', "import { h } from '../../test/helpers.js';")[0]!,
      /never imports test\//,
    );
    // Node below the CLI
    assert.match(
      check('src/model/x.ts', "import { readFileSync } from 'node:fs';")[0]!,
      /Node-only module node:fs/,
    );
    assert.match(check('src/nn/x.ts', "import * as path from 'path';")[0]!, /Node-only module path/);
    assert.match(check('src/sample/x.ts', "import { Worker } from 'worker_threads';")[0]!, /worker_threads/);
    assert.match(check('src/train/x.ts', 'const seed = Number(process.env.SEED);')[0]!, /global process/);
    assert.match(check('src/tokenizer/x.ts', 'function f(b: Buffer) {}')[0]!, /global Buffer/);
    // bare imports: a devDependency, the package itself
    assert.match(
      check('src/cli/x.ts', "import { getEncoding } from 'js-tiktoken';")[0]!,
      /not in package.json "dependencies"/,
    );
    assert.match(check('src/model/x.ts', "import { GPT } from 'tsgpt';")[0]!, /by name/);
    assert.match(check('src/studio/x.ts', '')[0]!, /studio is in no layer/);
    // allowed: down, sideways, the CLI and the adapters on Node, names that only look like globals
    const fine = [
      check(
        'src/train/x.ts',
        "import { GPT } from '../model/gpt.js';\nimport { Rng } from '../util/rng.js';",
      ),
      check('src/data/x.ts', "import { a } from './batch.js';\nimport { T } from '../tokenizer/index.js';"),
      check('src/cli/x.ts', "import { readFile } from 'node:fs/promises';\nprocess.exitCode = 1;"),
      check('src/data/node-io.ts', "import { createHash } from 'node:crypto';\nconst b = Buffer.from('');"),
      check('src/backend/wasm/x.ts', "import { k } from './kernels.js';\nimport('./node-platform.js');"),
      check(
        'src/model/x.ts',
        "// import('../cli/main.js') in a comment\nconst s = \"from '../cli/args.js' process.env\";",
      ),
      check('src/nn/x.ts', 'const o = { process: 1 };\no.process = 2;\nfunction f(require: number) {}'),
    ];
    assert.deepEqual(fine.flat(), []);
  });

  test('the AssemblyScript kernels are skipped wherever they live', () => {
    const files = sourceFiles();
    assert.equal(files.filter((f) => f.path.startsWith('src/backend/wasm/kernels/')).length, 0);
    assert.ok(files.every((f) => f.path.startsWith('src/')));
  });
});
