// The Generate view: a prompt and the sampling controls (temperature, top-k, top-p, greedy),
// text that streams in token by token, and for any generated token the candidates the model
// offered: its own probabilities, and those after temperature and the cut-offs, which the
// token was drawn from. Not here: the sampling itself (the library's generate, in the engine).

import type { SampleOptions } from 'tsgpt';
import type { Candidate, GeneratedToken, GenerateResult } from '../engine/protocol.js';
import type { Studio } from '../studio.js';
import { fmt, h, MessageLine, setChildren } from '../ui/dom.js';
import type { View } from './view.js';

export function generateView(studio: Studio): View {
  const engine = studio.engine;
  const msg = new MessageLine();
  const prompt = h('textarea', { rows: 3, 'data-testid': 'prompt', spellcheck: false });
  prompt.value = 'ROMEO:\n';

  const slider = (label: string, min: number, max: number, step: number, value: number, testid: string) => {
    const range = h('input', { type: 'range', min, max, step, value });
    const num = h('input', { type: 'number', min, max, step, value, 'data-testid': testid });
    range.addEventListener('input', () => (num.value = range.value));
    num.addEventListener('input', () => (range.value = num.value));
    return { num, el: h('label', { class: 'field' }, label, h('div', { class: 'slider-row' }, range, num)) };
  };
  const temp = slider('Temperature', 0.05, 2, 0.05, 0.8, 'temperature');
  const topK = slider('Top-k (0: all)', 0, 200, 1, 40, 'top-k');
  const topP = slider('Top-p', 0.05, 1, 0.05, 0.95, 'top-p');
  const greedy = h('input', { type: 'checkbox', 'data-testid': 'greedy' });
  const maxTokens = h('input', {
    type: 'number',
    min: 1,
    max: 5000,
    value: 300,
    'data-testid': 'max-tokens',
  });
  const seed = h('input', { type: 'number', min: 0, value: 1, 'data-testid': 'seed' });
  const goBtn = h('button', { class: 'primary', type: 'button', 'data-testid': 'generate' }, 'Generate');
  const stopBtn = h('button', { type: 'button', disabled: true }, 'Stop');
  const speed = h('div', { class: 'small muted', 'data-testid': 'gen-speed' });

  for (const el of [temp.num, topK.num, topP.num])
    greedy.addEventListener('change', () => {
      el.disabled = greedy.checked;
    });

  const output = h('div', { class: 'output', 'data-testid': 'output' });
  const detail = h('div', { 'data-testid': 'candidates' });
  let selected: HTMLElement | null = null;

  const candTable = (title: string, note: string, cands: Candidate[], chosen: number, cls: string) => {
    const max = Math.max(...cands.map((c) => c.p), 1e-9);
    return h(
      'div',
      {},
      h('h3', {}, title),
      h('p', { class: 'sub' }, note),
      h(
        'table',
        { class: 'cand-table' },
        ...cands.map((c, i) =>
          h(
            'tr',
            { class: c.id === chosen ? 'chosen' : '' },
            h(
              'td',
              { class: 'p' },
              i > 0 && c.rank !== cands[i - 1]!.rank + 1 ? `… ${c.rank + 1}` : `${c.rank + 1}`,
            ),
            h('td', { class: 't' }, c.text),
            h('td', {}, h('div', { class: `bar ${cls}`, style: `width:${(100 * c.p) / max}%` })),
            h('td', { class: 'p' }, `${(100 * c.p).toFixed(c.p < 0.001 ? 3 : 1)}%`),
          ),
        ),
      ),
    );
  };

  function showToken(t: GeneratedToken, span: HTMLElement): void {
    selected?.classList.remove('sel');
    selected = span;
    span.classList.add('sel');
    const o = sampling();
    const how = o.greedy
      ? 'greedy: always the most likely'
      : `temperature ${o.temperature}, top-k ${o.topK || 'off'}, top-p ${o.topP}: ${t.kept} candidate${t.kept === 1 ? '' : 's'} left`;
    const index = studio.generated.indexOf(t);
    const rank = t.after.find((c) => c.id === t.id)?.rank ?? 0;
    const p = t.after.find((c) => c.id === t.id)?.p ?? 0;
    const shownText = (t.before.find((c) => c.id === t.id)?.text ?? t.text) || `#${t.id}`;
    setChildren(
      detail,
      h(
        'p',
        { class: 'small', style: 'margin:0 0 14px', 'data-testid': 'chosen' },
        `Token ${index + 1} of the text: `,
        h('b', { class: 'mono' }, shownText),
        `, drawn at rank ${rank + 1} of ${t.kept} with probability ${(100 * p).toFixed(1)}%.`,
      ),
      h(
        'div',
        { class: 'cands' },
        candTable('The model’s probabilities', 'softmax of the logits, nothing cut', t.before, t.id, 'raw'),
        candTable('What it was drawn from', how, t.after, t.id, ''),
      ),
    );
  }

  const tokenSpan = (t: GeneratedToken) => {
    const span = h('span', { class: 'tok', title: `token ${t.id}` }, t.text);
    span.addEventListener('click', () => showToken(t, span));
    return span;
  };

  let shown = 0;
  studio.on('tokens', () => {
    const g = studio.generated;
    for (; shown < g.length; shown++) output.append(tokenSpan(g[shown]!));
    output.scrollTop = output.scrollHeight;
  });

  function sampling(): SampleOptions {
    return {
      temperature: Number(temp.num.value),
      topK: Number(topK.num.value),
      topP: Number(topP.num.value),
      greedy: greedy.checked,
      repetitionPenalty: 1,
    };
  }

  goBtn.addEventListener('click', async () => {
    msg.clear();
    studio.generated = [];
    shown = 0;
    selected = null;
    detail.replaceChildren(
      h('div', { class: 'empty' }, 'Click a generated token to see the candidates it was chosen from.'),
    );
    setChildren(output, h('span', { class: 'prompt' }, prompt.value));
    goBtn.disabled = true;
    stopBtn.disabled = !engine.stopFlag;
    speed.textContent = '';
    try {
      const r = await engine.request<GenerateResult>({
        type: 'generate',
        prompt: prompt.value,
        sampling: sampling(),
        maxTokens: Number(maxTokens.value),
        seed: Number(seed.value),
      });
      speed.textContent = `${r.tokens} tokens in ${(r.ms / 1000).toFixed(2)} s · ${fmt.int((r.tokens * 1000) / r.ms)} tokens/s`;
    } catch (e) {
      msg.show((e as Error).message);
    } finally {
      goBtn.disabled = false;
      stopBtn.disabled = true;
    }
  });
  stopBtn.addEventListener('click', () => {
    if (engine.stopFlag) Atomics.store(engine.stopFlag, 0, 1);
  });

  const modelLine = h('p', { class: 'sub' });
  studio.on('state', () => {
    const m = studio.state.model;
    modelLine.textContent = m
      ? `${fmt.params(m.params)} parameters, step ${fmt.int(studio.state.step)}, ${m.tokenizer}`
      : 'No model yet: train one (or load a checkpoint) in the Train view.';
    goBtn.disabled = !m;
  });

  const el = h(
    'div',
    { class: 'view' },
    h(
      'div',
      { class: 'side' },
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Sampling'),
        h('label', { class: 'field' }, 'Prompt', prompt),
        h('div', { style: 'height:10px' }),
        temp.el,
        h('div', { style: 'height:8px' }),
        topK.el,
        h('div', { style: 'height:8px' }),
        topP.el,
        h(
          'label',
          { class: 'choice', style: 'margin-top:10px' },
          greedy,
          h(
            'span',
            {},
            h('b', {}, 'Greedy'),
            h('span', { class: 'small muted' }, 'always take the most likely token'),
          ),
        ),
        h(
          'div',
          { class: 'fields' },
          h('label', { class: 'field' }, 'Tokens', maxTokens),
          h('label', { class: 'field' }, 'Seed', seed),
        ),
        h('div', { class: 'row', style: 'margin-top:14px' }, goBtn, stopBtn),
        msg.el,
      ),
    ),
    h(
      'div',
      { class: 'main-col' },
      h(
        'section',
        { class: 'card' },
        h('h3', {}, 'Text'),
        modelLine,
        output,
        h('div', { style: 'height:8px' }),
        speed,
      ),
      h('section', { class: 'card' }, detail),
    ),
  );
  detail.append(
    h('div', { class: 'empty' }, 'Click a generated token to see the candidates it was chosen from.'),
  );
  return { id: 'generate', title: 'Generate', el };
}
