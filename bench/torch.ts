// The PyTorch side of the bench: where its interpreter and script are, whether torch is there,
// and which OpenBLAS kernel sets each comparison runs with. The measuring itself is
// bench/pytorch/train_ref.py, started by the sections; this file runs only the availability check.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './paths.js';

/** Debian's python3 with python3-torch (scripts/ensure-torch.sh installs it where it can). */
export const PYTHON = '/usr/bin/python3';
/** nanoGPT's model and training loop, and GPT-2-sized generation, in PyTorch. */
export const TRAIN_REF = join(REPO, 'bench', 'pytorch', 'train_ref.py');

/** Whether /usr/bin/python3 has torch (installed by scripts/ensure-torch.sh when it can). */
export async function checkTorch(): Promise<{ available: boolean; detail: string }> {
  const script = join(REPO, 'scripts', 'ensure-torch.sh');
  if (!existsSync(PYTHON)) return { available: false, detail: `${PYTHON} not found` };
  return new Promise((resolve) => {
    const child = spawn('bash', [script], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      text += d.toString();
    });
    child.on('error', (e) => resolve({ available: false, detail: `ensure-torch.sh: ${e.message}` }));
    child.on('close', (code) => {
      const last = text.trim().split('\n').filter(Boolean).pop() ?? `exit ${code}`;
      resolve({ available: code === 0, detail: last.replace(/^ensure-torch: /, '') });
    });
  });
}

/** OpenBLAS's SSE3 kernel set: what it picked by itself on the Xeon the issue was measured on. */
export const SSE_CORETYPE = 'Prescott';

/**
 * The OpenBLAS kernel choices PyTorch runs with: 'default' (OPENBLAS_CORETYPE unset: OpenBLAS
 * detects the CPU), the environment's own setting if it has one, and 'SkylakeX' (AVX-512: the best
 * this PyTorch gets). For `baby`, the preset the target is set on, also 'Prescott': the SSE
 * kernels OpenBLAS auto-detected on the Xeon, so its "default" figure (~104 ms/iter) is
 * measured here too, whatever this CPU's auto-detection picks.
 */
export function torchCoretypes(preset?: string): string[] {
  const env = process.env['OPENBLAS_CORETYPE'];
  const out = ['default'];
  if (preset === 'baby' && env?.toLowerCase() !== 'prescott') out.push(SSE_CORETYPE);
  if (env && env !== 'default' && env.toLowerCase() !== 'skylakex') out.push(env);
  out.push('SkylakeX');
  return out;
}
