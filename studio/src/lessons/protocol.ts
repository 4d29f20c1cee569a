// What the lesson page and its kernel (a worker running the lesson's cells) say to each other.
// The page sends a lesson's text once, then cells to run one at a time; the kernel streams each
// output as the cell makes it, then says the cell is done.

import type { Output } from '@lessons/runtime';

export type KernelRequest =
  | { type: 'open'; id: string; text: string; quick: boolean }
  | { type: 'run'; run: number; cell: number; source: string };

export type KernelEvent =
  | { type: 'opened'; id: string }
  | { type: 'output'; run: number; output: Output }
  | { type: 'done'; run: number; error: string | null; ms: number };
