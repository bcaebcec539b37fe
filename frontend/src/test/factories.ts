import type { Token, TokenColumns, TokenizerResult, TokenizerResultPayload, TokenizerStats } from '../api/types';

const enc = new TextEncoder();
export const hexOf = (s: string) => Array.from(enc.encode(s), (b) => b.toString(16).padStart(2, '0')).join('');

export function tok(text: string, start: number, end: number, kind: Token['kind'] = 'normal', id = start, bytes?: string): Token {
  return { id, text, bytes: bytes ?? hexOf(text), start, end, kind };
}

export function stats(over: Partial<TokenizerStats> = {}): TokenizerStats {
  return {
    tokens: 2,
    chars: 11,
    bytes: 11,
    words: 2,
    chars_per_token: 5.5,
    bytes_per_token: 5.5,
    fertility: 1,
    continued_word_ratio: 0,
    unknown: 0,
    byte_fallback: 0,
    special: 0,
    roundtrip: true,
    number_chunks: { pattern: '1-3 digits, left to right', examples: [['12345', ['123', '45']]] },
    relative_cost: 1,
    distinct_tokens: 2,
    encode_ms: 0.1,
    ...over,
  };
}

export function result(id: string, tokens: Token[], over: Partial<TokenizerStats> = {}): TokenizerResult {
  return {
    tokenizer: { id, name: id, family: 'Test', algorithm: 'BPE', vocab_size: 1000 },
    tokens,
    tokens_truncated: false,
    stats: stats({ tokens: tokens.length, ...over }),
  };
}

/** The API's columnar form of a token list (what the server sends): ids, offsets, non-normal kinds, bytes per id. */
export function columns(tokens: Token[]): TokenColumns {
  const kinds: TokenColumns['kinds'] = {};
  const bytes: Record<string, string> = {};
  tokens.forEach((t, i) => {
    if (t.kind !== 'normal') (kinds[t.kind] ??= []).push(i);
    if (t.kind !== 'unknown') bytes[String(t.id)] = t.bytes;
  });
  return { ids: tokens.map((t) => t.id), starts: tokens.map((t) => t.start), ends: tokens.map((t) => t.end), kinds, bytes };
}

/** A tokenizer's result as the API sends it. */
export function payload(id: string, tokens: Token[], over: Partial<TokenizerStats> = {}): TokenizerResultPayload {
  return { ...result(id, tokens, over), tokens: columns(tokens) };
}
