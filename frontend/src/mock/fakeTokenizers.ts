// Dev/demo only: crude imitations of real tokenizers, good enough to exercise every UI state
// (byte-level partial tokens, SentencePiece byte fallback, WordPiece gaps and [UNK], special tokens).
import type { Token, TokenizeResult, TokenizerResult, Tokenizer } from '../api/types';

type Style = 'bytebpe' | 'sentencepiece' | 'wordpiece';

interface Spec {
  style: Style;
  maxLen: number;
  digits: number;
}

const SPECS: Record<string, Spec> = {
  'tiktoken:cl100k_base': { style: 'bytebpe', maxLen: 7, digits: 3 },
  'tiktoken:o200k_base': { style: 'bytebpe', maxLen: 9, digits: 3 },
  'tiktoken:gpt2': { style: 'bytebpe', maxLen: 5, digits: 99 },
  'hf:meta-llama/Meta-Llama-3-8B': { style: 'bytebpe', maxLen: 8, digits: 3 },
  'sp:llama2': { style: 'sentencepiece', maxLen: 6, digits: 1 },
  'hf:bert-base-uncased': { style: 'wordpiece', maxLen: 5, digits: 2 },
};

const enc = new TextEncoder();
const hex = (s: string) => Array.from(enc.encode(s), (b) => b.toString(16).padStart(2, '0')).join('');

function hashId(s: string, vocab: number): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0) % vocab;
}

const isRare = (ch: string) => (ch.codePointAt(0) ?? 0) > 0x2fff && !/[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]/u.test(ch);

function chunk(s: string[], n: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < s.length; i += n) out.push(s.slice(i, i + n));
  return out;
}

const SPECIALS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];

function tokenizeWith(spec: Spec, tok: Tokenizer, cps: string[]): Token[] {
  const vocab = tok.vocab_size ?? 32000;
  const tokens: Token[] = [];
  const push = (text: string, start: number, end: number, kind: Token['kind'] = 'normal', bytes?: string) =>
    tokens.push({ id: hashId(`${kind}:${text}`, vocab), text, bytes: bytes ?? hex(text), start, end, kind });

  if (spec.style === 'sentencepiece') push('<s>', 0, 0, 'special', '');
  if (spec.style === 'wordpiece') push('[CLS]', 0, 0, 'special', '');

  const text = cps.join('');
  // pre-tokenize on code points
  const re = /<\|[a-z_]+\|>|'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+/gu;
  let m: RegExpExecArray | null;
  let cpIndex = 0;
  let utf16 = 0;
  const toCp = (u: number) => {
    while (utf16 < u) {
      const c = text.codePointAt(utf16) ?? 0;
      utf16 += c > 0xffff ? 2 : 1;
      cpIndex++;
    }
    return cpIndex;
  };
  while ((m = re.exec(text))) {
    const start = toCp(m.index);
    const piece = Array.from(m[0]);
    const end = start + piece.length;
    const str = m[0];
    if (SPECIALS.includes(str)) {
      if (spec.style === 'bytebpe') push(str, start, end, 'special');
      else chunk(piece, 3).forEach((c, i) => push(c.join(''), start + i * 3, start + i * 3 + c.length));
      continue;
    }
    if (/^\s+$/.test(str)) {
      if (spec.style === 'wordpiece') continue; // dropped: shows as a gap
      if (spec.style === 'sentencepiece') {
        piece.forEach((ch, i) =>
          ch === '\n' ? push('<0x0A>', start + i, start + i + 1, 'byte_fallback', '0a') : push(ch === ' ' ? '▁' : ch, start + i, start + i + 1),
        );
        continue;
      }
      push(str, start, end);
      continue;
    }
    let pos = start;
    let chars = piece;
    let lead = '';
    if (chars[0] === ' ') {
      if (spec.style === 'wordpiece') {
        pos += 1;
        chars = chars.slice(1);
      } else lead = spec.style === 'sentencepiece' ? '▁' : ' ';
    }
    if (spec.style === 'sentencepiece' && !lead && (start === 0 || cps[start - 1] === ' ')) lead = '▁';
    if (spec.style === 'wordpiece') chars = chars.map((c) => c.toLowerCase());
    // rare characters (emoji…) are handled one by one
    let buf: string[] = [];
    let bufStart = pos;
    const flush = () => {
      if (!buf.length) return;
      const isNum = /^\p{N}+$/u.test(buf.join('').trim());
      const size = isNum ? spec.digits : spec.maxLen;
      chunk(buf, size).forEach((c, i) => {
        const s = bufStart + i * size;
        let t = c.join('');
        if (i === 0) t = (lead === '▁' && cps[s] === ' ' ? '▁' + t.slice(1) : lead === '▁' ? '▁' + t : t);
        if (i > 0 && spec.style === 'wordpiece') t = `##${t}`;
        push(t, s, s + c.length);
      });
      lead = '';
      buf = [];
    };
    chars.forEach((ch, i) => {
      const at = pos + i;
      if (isRare(ch)) {
        flush();
        const b = hex(ch);
        if (spec.style === 'bytebpe') {
          const half = Math.max(2, Math.floor(b.length / 4) * 2);
          push('�', at, at + 1, 'partial', b.slice(0, half));
          push('�', at, at + 1, 'partial', b.slice(half));
        } else if (spec.style === 'sentencepiece') {
          for (let k = 0; k < b.length; k += 2) push(`<0x${b.slice(k, k + 2).toUpperCase()}>`, at, at + 1, 'byte_fallback', b.slice(k, k + 2));
        } else {
          if (tokens.at(-1)?.kind !== 'unknown' || tokens.at(-1)!.end !== at) push('[UNK]', at, at + 1, 'unknown', hex('[UNK]'));
          else tokens.at(-1)!.end = at + 1;
        }
        bufStart = at + 1;
      } else {
        if (!buf.length) bufStart = at;
        buf.push(ch);
      }
    });
    flush();
  }
  if (spec.style === 'wordpiece') push('[SEP]', cps.length, cps.length, 'special', '');
  return tokens;
}

function numberExample(text: string, spec: Spec): [string, string[]] {
  const m = /\d{4,}/.exec(text);
  const n = m ? m[0] : '1234567';
  return [n, chunk(Array.from(n), spec.digits).map((c) => c.join(''))];
}

export function fakeTokenize(text: string, catalogue: Tokenizer[], ids: string[], baseline: string | undefined): TokenizeResult {
  const cps = Array.from(text);
  const words = text.split(/\s+/).filter(Boolean);
  const wordSpans: [number, number][] = [];
  {
    let i = 0;
    while (i < cps.length) {
      while (i < cps.length && /\s/.test(cps[i])) i++;
      const s = i;
      while (i < cps.length && !/\s/.test(cps[i])) i++;
      if (i > s) wordSpans.push([s, i]);
    }
  }
  const bytes = enc.encode(text).length;
  const results: TokenizerResult[] = ids.map((id) => {
    const tok = catalogue.find((t) => t.id === id)!;
    const spec = SPECS[id] ?? { style: 'bytebpe', maxLen: 6, digits: 3 };
    const tokens = tokenizeWith(spec, tok, cps);
    const n = tokens.length;
    // words split into 2+ tokens (tokens and words are both sorted by offset)
    let continued = 0;
    let ti = 0;
    for (const [ws, we] of wordSpans) {
      while (ti < tokens.length && tokens[ti].end <= ws) ti++;
      let k = ti;
      let count = 0;
      while (k < tokens.length && tokens[k].start < we) {
        if (tokens[k].end > tokens[k].start) count++;
        k++;
      }
      if (count >= 2) continued++;
    }
    return {
      tokenizer: { id: tok.id, name: tok.name, family: tok.family, algorithm: tok.algorithm, vocab_size: tok.vocab_size },
      tokens: tokens.slice(0, 20000),
      tokens_truncated: n > 20000,
      stats: {
        tokens: n,
        chars: cps.length,
        bytes,
        words: words.length,
        chars_per_token: n ? cps.length / n : null,
        bytes_per_token: n ? bytes / n : null,
        fertility: words.length ? tokens.filter((t) => t.kind !== 'special').length / words.length : null,
        continued_word_ratio: wordSpans.length ? continued / wordSpans.length : null,
        unknown: tokens.filter((t) => t.kind === 'unknown').length,
        byte_fallback: tokens.filter((t) => t.kind === 'byte_fallback').length,
        special: tokens.filter((t) => t.kind === 'special').length,
        roundtrip: spec.style !== 'wordpiece',
        number_chunks: {
          pattern: spec.digits === 1 ? 'single digits' : spec.digits > 10 ? 'whole runs (merged by frequency)' : `1-${spec.digits} digits, left to right`,
          examples: [numberExample(text, spec)],
        },
        relative_cost: null,
        distinct_tokens: new Set(tokens.map((t) => t.id)).size,
        encode_ms: Math.round((0.05 + cps.length / 40000) * (spec.style === 'bytebpe' ? 1 : 3) * 100) / 100,
      },
    };
  });
  const base = results.find((r) => r.tokenizer.id === baseline) ?? results[0];
  for (const r of results) r.stats.relative_cost = base && base.stats.tokens ? r.stats.tokens / base.stats.tokens : null;

  // Disagreement: the spans between boundaries that every tokenizer shares, around a boundary some lack.
  const boundarySets = results.map((r) => {
    const s = new Set<number>();
    for (const t of r.tokens) if (t.end > t.start) {
        s.add(t.start);
        s.add(t.end);
      }
    return s;
  });
  const all = new Set<number>();
  boundarySets.forEach((s) => s.forEach((p) => all.add(p)));
  const shared = [...all].filter((p) => boundarySets.every((s) => s.has(p))).sort((a, b) => a - b);
  const disagree: [number, number][] = [];
  let si = 0;
  for (const p of [...all].sort((a, b) => a - b)) {
    if (boundarySets.every((s) => s.has(p))) continue;
    while (si < shared.length && shared[si] < p) si++;
    let lo = si > 0 ? shared[si - 1] : 0;
    const hi = si < shared.length ? shared[si] : cps.length;
    // skip leading whitespace so the underline sits on the word
    while (lo < hi && cps[lo] === ' ') lo++;
    const last = disagree.at(-1);
    if (last && last[0] === lo && last[1] === hi) continue;
    disagree.push([lo, hi]);
  }

  return {
    text,
    text_truncated: false,
    input: { chars: cps.length, bytes, words: words.length, lines: text ? text.split('\n').length : 0, sha256: hex(text).slice(0, 64).padEnd(64, '0') },
    baseline: base?.tokenizer.id ?? null,
    results,
    boundaries: { disagree },
  };
}
