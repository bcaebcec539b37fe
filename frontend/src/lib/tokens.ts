// Pure helpers for rendering tokens as spans over the input text.
// Offsets from the API are code-point indices (Python str indices), so the text is handled as an array of code
// points (Array.from), never with UTF-16 String.slice.
import type { Token, TokenColumns, TokenKind, TokenizeResult, TokenizeResultPayload } from '../api/types';

/** A visible piece of text: either literal characters or a whitespace/control glyph. */
export interface VisPiece {
  text: string;
  ws: boolean;
}

const GLYPHS: Record<string, string> = {
  ' ': '·',
  '\t': '→',
  '\n': '↵\n', // the glyph, then a real line break
  '\r': '␍',
  '\u00a0': '⍽', // no-break space
  '\u3000': '□', // ideographic space
};

function controlGlyph(ch: string): string | null {
  if (ch in GLYPHS) return GLYPHS[ch];
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, '0').toUpperCase()}`;
  // zero-width and bidi control characters: invisible otherwise
  if ((cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0xfeff) {
    return `\\u${cp.toString(16).padStart(4, '0').toUpperCase()}`;
  }
  if (cp >= 0x2000 && cp <= 0x200a) return '·'; // other Unicode spaces
  return null;
}

/**
 * Splits `s` into literal runs and whitespace glyphs: · for spaces, → for tabs, ↵ + a real line break for
 * newlines, ␍ for carriage returns, \xNN for other control characters.
 */
export function visualizeWhitespace(s: string): VisPiece[] {
  const out: VisPiece[] = [];
  let literal = '';
  let glyphs = '';
  for (const ch of s) {
    const g = controlGlyph(ch);
    if (g === null) {
      if (glyphs) {
        out.push({ text: glyphs, ws: true });
        glyphs = '';
      }
      literal += ch;
    } else {
      if (literal) {
        out.push({ text: literal, ws: false });
        literal = '';
      }
      glyphs += g;
    }
  }
  if (literal) out.push({ text: literal, ws: false });
  if (glyphs) out.push({ text: glyphs, ws: true });
  return out;
}

/** The whitespace-visible form of `s` as one string. */
export function visibleWhitespace(s: string): string {
  return visualizeWhitespace(s)
    .map((p) => p.text)
    .join('');
}

/** A token string escaped for display in a tooltip: quoted, with control characters as escapes. */
export function escapeTokenString(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if ((cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0xfeff)
      out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `"${out}"`;
}

/** "48656c6c6f" → "48 65 6C 6C 6F". */
export function formatHexBytes(hex: string): string {
  const clean = hex.replace(/\s+/g, '').toUpperCase();
  const pairs: string[] = [];
  for (let i = 0; i < clean.length; i += 2) pairs.push(clean.slice(i, i + 2));
  return pairs.join(' ');
}

export function byteLength(hex: string): number {
  return Math.floor(hex.replace(/\s+/g, '').length / 2);
}

/** Code points of a string (what the API's offsets index). */
export function codePoints(text: string): string[] {
  return Array.from(text);
}

export type Segment =
  | {
      type: 'token';
      /** Index of the token in the tokenizer's token list. */
      index: number;
      token: Token;
      /**
       * Character range drawn inside this token's span. Usually [token.start, token.end); shorter when the previous
       * token already drew some of the same characters (partial tokens of one emoji), empty for a `label` segment.
       */
      drawStart: number;
      drawEnd: number;
      /** When the token has no characters of its own to draw, what to show instead (hex bytes, token text). */
      label: string | null;
      /** The token shares characters with the token before it (e.g. the second byte-level piece of an emoji). */
      continuation: boolean;
    }
  | {
      /** Characters covered by no token (e.g. whitespace a WordPiece tokenizer drops). */
      type: 'gap';
      drawStart: number;
      drawEnd: number;
    };

/**
 * Lays tokens over the text. Every character is drawn exactly once, in order; tokens that only cover characters
 * already drawn (several byte-level or byte-fallback pieces of one character) show their bytes instead.
 */
export function buildSegments(textLength: number, tokens: readonly Token[]): Segment[] {
  const segments: Segment[] = [];
  let cursor = 0;
  let prevEnd = -1;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const start = Math.max(0, Math.min(token.start, textLength));
    const end = Math.max(start, Math.min(token.end, textLength));
    if (start > cursor) {
      segments.push({ type: 'gap', drawStart: cursor, drawEnd: start });
      cursor = start;
    }
    const drawStart = Math.max(start, cursor);
    const drawEnd = end;
    const continuation = end > start && start < prevEnd;
    if (drawEnd > drawStart) {
      segments.push({ type: 'token', index: i, token, drawStart, drawEnd, label: null, continuation });
      cursor = drawEnd;
    } else {
      segments.push({ type: 'token', index: i, token, drawStart, drawEnd: drawStart, label: fallbackLabel(token), continuation });
    }
    if (end > start) prevEnd = Math.max(prevEnd, end);
  }
  if (cursor < textLength) segments.push({ type: 'gap', drawStart: cursor, drawEnd: textLength });
  return segments;
}

/** What to draw for a token with no characters of its own. */
export function fallbackLabel(token: Token): string {
  if (token.kind === 'partial' || token.kind === 'byte_fallback') {
    const hex = formatHexBytes(token.bytes);
    return hex || token.text || '∅';
  }
  return token.text || formatHexBytes(token.bytes) || '∅';
}

export const KIND_LABELS: Record<TokenKind, string> = {
  normal: 'Normal',
  special: 'Special token',
  unknown: 'Unknown (unk id)',
  byte_fallback: 'Byte fallback',
  partial: 'Partial character',
};

export const KIND_HELP: Record<TokenKind, string> = {
  normal: 'An ordinary vocabulary token.',
  special: 'A control token such as <|endoftext|> or [CLS].',
  unknown: "The text mapped to the tokenizer's unknown token: information is lost.",
  byte_fallback: 'SentencePiece fell back to raw <0xNN> byte pieces: the character is not in the vocabulary.',
  partial: 'The token holds only some of the UTF-8 bytes of a character (e.g. half an emoji).',
};

/** Number of pastel colours cycled through by token index (see .tc-N in styles.css). */
export const PALETTE_SIZE = 6;

export function colourClass(index: number): string {
  return `tc-${index % PALETTE_SIZE}`;
}

/** UTF-8 bytes of a string as lowercase hex (an unknown token's bytes are those of the text it replaced). */
export function utf8Hex(s: string): string {
  let out = '';
  for (const b of new TextEncoder().encode(s)) out += b.toString(16).padStart(2, '0');
  return out;
}

/** One object per token from the API's columns; texts are slices (in code points) of the result's text. */
export function expandTokens(columns: TokenColumns | Token[], cps: readonly string[] | null): Token[] {
  if (Array.isArray(columns)) return columns; // results saved before the columnar payload
  const kinds = new Array<TokenKind>(columns.ids.length).fill('normal');
  for (const [kind, positions] of Object.entries(columns.kinds) as [TokenKind, number[]][]) {
    for (const p of positions) kinds[p] = kind;
  }
  return columns.ids.map((id, i) => {
    const start = columns.starts[i];
    const end = columns.ends[i];
    const text = cps ? cps.slice(start, end).join('') : '';
    const bytes = kinds[i] === 'unknown' ? utf8Hex(text) : (columns.bytes[String(id)] ?? '');
    return { id, text, bytes, start, end, kind: kinds[i] };
  });
}

/** The API's tokenize result with one object per token, the shape the result view draws. */
export function expandResult(payload: TokenizeResultPayload): TokenizeResult {
  const cps = payload.text === null || payload.text === undefined ? null : codePoints(payload.text);
  return { ...payload, results: payload.results.map((r) => ({ ...r, tokens: expandTokens(r.tokens, cps) })) };
}
