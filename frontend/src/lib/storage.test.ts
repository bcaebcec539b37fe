import { afterEach, describe, expect, it } from 'vitest';
import { loadStored, saveStored } from './storage';

describe('stored form state', () => {
  afterEach(() => window.localStorage.clear());

  it('round-trips an object', () => {
    saveStored('k', { a: 1, b: 'x' });
    expect(loadStored<{ a: number; b: string }>('k')).toEqual({ a: 1, b: 'x' });
  });

  it('starts empty when nothing, corrupt JSON or a non-object is stored', () => {
    expect(loadStored('missing')).toEqual({});
    window.localStorage.setItem('k', '{not json');
    expect(loadStored('k')).toEqual({});
    window.localStorage.setItem('k', '5');
    expect(loadStored('k')).toEqual({});
  });
});
