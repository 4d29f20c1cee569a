// Finds the equations in a lesson's Markdown: $$...$$ (display) and $...$ (inline), outside code
// spans and fences, so the studio can hand each to KaTeX and the tests can check each one renders.
// Not here: KaTeX itself (the studio and the tests import it).

export interface MathPiece {
  tex: string;
  display: boolean;
}

/** The Markdown cut into text and math, in order: [text, math, text, ...] as { text } | MathPiece. */
export function splitMath(md: string): ({ text: string } | MathPiece)[] {
  const out: ({ text: string } | MathPiece)[] = [];
  let text = '';
  let i = 0;
  while (i < md.length) {
    if (md.startsWith('```', i) && (i === 0 || md[i - 1] === '\n')) {
      const end = md.indexOf('\n```', i + 3);
      const stop =
        end < 0 ? md.length : md.indexOf('\n', end + 4) < 0 ? md.length : md.indexOf('\n', end + 4);
      text += md.slice(i, stop);
      i = stop;
    } else if (md[i] === '`') {
      const end = md.indexOf('`', i + 1);
      const stop = end < 0 ? md.length : end + 1;
      text += md.slice(i, stop);
      i = stop;
    } else if (md[i] === '\\' && md[i + 1] === '$') {
      text += '$';
      i += 2;
    } else if (md.startsWith('$$', i)) {
      const end = md.indexOf('$$', i + 2);
      if (end < 0) {
        text += md.slice(i);
        break;
      }
      if (text) out.push({ text });
      text = '';
      out.push({ tex: md.slice(i + 2, end).trim(), display: true });
      i = end + 2;
    } else if (md[i] === '$' && md[i + 1] !== ' ') {
      const end = md.indexOf('$', i + 1);
      if (end < 0 || md.slice(i + 1, end).includes('\n\n') || md[end - 1] === ' ') {
        text += md[i];
        i++;
        continue;
      }
      if (text) out.push({ text });
      text = '';
      out.push({ tex: md.slice(i + 1, end), display: false });
      i = end + 1;
    } else {
      text += md[i];
      i++;
    }
  }
  if (text) out.push({ text });
  return out;
}
