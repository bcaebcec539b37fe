import { describe, expect, it } from 'vitest';
import { columns, hexOf, payload, tok } from '../test/factories';
import {
  buildSegments,
  codePoints,
  escapeTokenString,
  expandResult,
  expandTokens,
  fallbackLabel,
  formatHexBytes,
  visibleWhitespace,
  visualizeWhitespace,
} from './tokens';

describe('visualizeWhitespace', () => {
  it('draws spaces, tabs and newlines as glyphs and keeps real line breaks', () => {
    expect(visualizeWhitespace('a b\tc\nd')).toEqual([
      { text: 'a', ws: false },
      { text: '·', ws: true },
      { text: 'b', ws: false },
      { text: '→', ws: true },
      { text: 'c', ws: false },
      { text: '↵\n', ws: true },
      { text: 'd', ws: false },
    ]);
  });

  it('groups consecutive whitespace into one glyph run', () => {
    expect(visualizeWhitespace('  \n\n')).toEqual([{ text: '··↵\n↵\n', ws: true }]);
  });

  it('shows carriage returns, control characters and zero-width characters', () => {
    expect(visibleWhitespace('a\r\nb')).toBe('a␍↵\nb');
    expect(visibleWhitespace('\u0000x\u007f')).toBe('\\x00x\\x7F');
    expect(visibleWhitespace('a\u200bb')).toBe('a\\u200Bb');
    expect(visibleWhitespace('a\u00a0b')).toBe('a⍽b');
  });

  it('leaves other text (emoji, RTL, CJK) untouched', () => {
    expect(visualizeWhitespace('😀مرحبا你好')).toEqual([{ text: '😀مرحبا你好', ws: false }]);
  });
});

describe('escapeTokenString / formatHexBytes', () => {
  it('escapes control characters but keeps spaces and unicode', () => {
    expect(escapeTokenString(' Hello\n')).toBe('" Hello\\n"');
    expect(escapeTokenString('\t"\\')).toBe('"\\t\\"\\\\"');
    expect(escapeTokenString('😀')).toBe('"😀"');
  });

  it('spaces and upper-cases hex bytes', () => {
    expect(formatHexBytes('48656c6c6f')).toBe('48 65 6C 6C 6F');
    expect(formatHexBytes('')).toBe('');
  });
});

describe('buildSegments', () => {
  it('lays contiguous tokens over the text', () => {
    const tokens = [tok('Hello', 0, 5), tok(' world', 5, 11)];
    const segs = buildSegments(11, tokens);
    expect(segs.map((s) => [s.type, s.drawStart, s.drawEnd])).toEqual([
      ['token', 0, 5],
      ['token', 5, 11],
    ]);
  });

  it('emits gaps for characters no token covers (WordPiece drops spaces)', () => {
    const tokens = [tok('hello', 0, 5), tok('world', 6, 11)];
    const segs = buildSegments(12, tokens);
    expect(segs.map((s) => [s.type, s.drawStart, s.drawEnd])).toEqual([
      ['token', 0, 5],
      ['gap', 5, 6],
      ['token', 6, 11],
      ['gap', 11, 12],
    ]);
  });

  it('draws a character shared by partial tokens once, then shows the bytes of the other pieces', () => {
    // "a😀b": the emoji is code point 1; byte-level BPE splits its 4 bytes into two partial tokens.
    const emoji = hexOf('😀'); // f09f9880
    const tokens = [tok('a', 0, 1), tok('�', 1, 2, 'partial', 10, emoji.slice(0, 4)), tok('�', 1, 2, 'partial', 11, emoji.slice(4)), tok('b', 2, 3)];
    const segs = buildSegments(codePoints('a😀b').length, tokens);
    expect(segs).toHaveLength(4);
    const [, first, second, last] = segs;
    expect(first).toMatchObject({ type: 'token', index: 1, drawStart: 1, drawEnd: 2, label: null, continuation: false });
    expect(second).toMatchObject({ type: 'token', index: 2, drawStart: 2, drawEnd: 2, label: '98 80', continuation: true });
    expect(last).toMatchObject({ type: 'token', index: 3, drawStart: 2, drawEnd: 3 });
  });

  it('handles SentencePiece byte fallback pieces of one character', () => {
    const bytes = hexOf('🚀'); // f0 9f 9a 80
    const tokens = [0, 1, 2, 3].map((k) => tok(`<0x${bytes.slice(k * 2, k * 2 + 2).toUpperCase()}>`, 0, 1, 'byte_fallback', k, bytes.slice(k * 2, k * 2 + 2)));
    const segs = buildSegments(1, tokens);
    expect(segs.map((s) => (s.type === 'token' ? s.label : 'gap'))).toEqual([null, '9F', '9A', '80']);
  });

  it('shows zero-width special tokens by their own text', () => {
    const tokens = [tok('<s>', 0, 0, 'special'), tok('Hi', 0, 2)];
    const segs = buildSegments(2, tokens);
    expect(segs[0]).toMatchObject({ type: 'token', label: '<s>', drawStart: 0, drawEnd: 0 });
    expect(segs[1]).toMatchObject({ type: 'token', label: null, drawStart: 0, drawEnd: 2 });
  });

  it('uses code-point offsets, so astral characters before a token do not shift it', () => {
    const text = '😀😀 ok';
    const cps = codePoints(text);
    expect(cps).toHaveLength(5); // not 7 UTF-16 units
    const tokens = [tok('😀😀', 0, 2), tok(' ok', 2, 5)];
    const segs = buildSegments(cps.length, tokens);
    const drawn = segs.map((s) => cps.slice(s.drawStart, s.drawEnd).join(''));
    expect(drawn).toEqual(['😀😀', ' ok']);
  });

  it('keeps RTL text in logical order with correct offsets', () => {
    const text = 'مرحبا بالعالم';
    const cps = codePoints(text);
    const tokens = [tok('مرحبا', 0, 5), tok(' بال', 5, 9), tok('عالم', 9, 13)];
    const segs = buildSegments(cps.length, tokens);
    expect(segs.map((s) => cps.slice(s.drawStart, s.drawEnd).join(''))).toEqual(['مرحبا', ' بال', 'عالم']);
  });

  it('clamps offsets past the end of a truncated text', () => {
    const tokens = [tok('abc', 0, 3), tok('def', 3, 6)];
    const segs = buildSegments(4, tokens);
    expect(segs.map((s) => [s.drawStart, s.drawEnd])).toEqual([
      [0, 3],
      [3, 4],
    ]);
  });

  it('labels tokens with no characters of their own', () => {
    expect(fallbackLabel(tok('x', 0, 0, 'partial', 1, 'e282'))).toBe('E2 82');
    expect(fallbackLabel(tok('[SEP]', 0, 0, 'special', 1, ''))).toBe('[SEP]');
  });
});

describe('expandTokens / expandResult', () => {
  it('rebuilds token objects from the columns: texts sliced in code points, bytes per id, kinds by position', () => {
    const text = 'a🙂\u0000[UNK]';
    const tokens = [tok('a', 0, 1, 'normal', 7), tok('🙂', 1, 2, 'partial', 9, 'f09f'), tok('\u0000', 2, 3, 'normal', 0), tok('[UNK]', 3, 8, 'unknown', 100, '5b554e4b5d')];
    expect(expandTokens(columns(tokens), codePoints(text))).toEqual([
      tok('a', 0, 1, 'normal', 7),
      tok('🙂', 1, 2, 'partial', 9, 'f09f'),
      tok('\u0000', 2, 3, 'normal', 0),
      // an unknown token's bytes are those of the text it replaced (the id's own bytes are "[UNK]")
      tok('[UNK]', 3, 8, 'unknown', 100, hexOf('[UNK]')),
    ]);
  });

  it('keeps token lists of results saved before the columnar payload', () => {
    const legacy = [tok('Hi', 0, 2)];
    const expanded = expandResult({
      text: 'Hi',
      text_truncated: false,
      input: { chars: 2, bytes: 2, words: 1, lines: 1, sha256: '' },
      baseline: null,
      results: [{ ...payload('x', legacy), tokens: legacy }, payload('y', [tok('H', 0, 1), tok('i', 1, 2)])],
      boundaries: { disagree: [] },
    });
    expect(expanded.results[0].tokens).toBe(legacy);
    expect(expanded.results[1].tokens.map((t) => t.text)).toEqual(['H', 'i']);
  });
});
