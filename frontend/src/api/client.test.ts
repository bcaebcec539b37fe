import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, api, buildUrl, errorMessage, exportUrl, jobSocketUrl, permalinkFor, readCookie, request, setTeam } from './client';

function jsonResponse(status: number, body: unknown, statusText = '') {
  return new Response(body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body), {
    status,
    statusText,
    headers: { 'Content-Type': 'application/json' },
  });
}

describe('api client', () => {
  let fetchMock: ReturnType<typeof vi.fn>;

  beforeEach(() => {
    fetchMock = vi.fn();
    vi.stubGlobal('fetch', fetchMock);
    setTeam(null);
    document.cookie = 'csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT';
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  const lastInit = () => fetchMock.mock.calls.at(-1)![1] as RequestInit & { headers: Record<string, string> };

  it('surfaces the backend {message, extra} with field errors', async () => {
    fetchMock.mockResolvedValue(jsonResponse(400, { message: 'Check the highlighted fields.', extra: { fields: { text: ['This field may not be blank.'] } } }));
    const err = await request('tokenize/', { method: 'POST', body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    expect(e.status).toBe(400);
    expect(e.message).toBe('Check the highlighted fields.');
    expect(e.fields).toEqual({ text: ['This field may not be blank.'] });
    expect(errorMessage(e)).toBe('Check the highlighted fields.');
  });

  it('keeps other extra data and tolerates a missing extra', async () => {
    fetchMock.mockResolvedValueOnce(jsonResponse(409, { message: 'The job has already finished.', extra: { status: 'succeeded' } }));
    const e1 = (await api.cancelJob('j1').catch((e: unknown) => e)) as ApiError;
    expect(e1.extra).toEqual({ status: 'succeeded' });
    expect(e1.fields).toEqual({});
    fetchMock.mockResolvedValueOnce(jsonResponse(404, { message: 'No such job.' }));
    const e2 = (await api.job('nope').catch((e: unknown) => e)) as ApiError;
    expect(e2.status).toBe(404);
    expect(e2.extra).toEqual({});
  });

  it('falls back to a readable message for non-JSON error bodies', async () => {
    fetchMock.mockResolvedValue(new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    const e = (await api.tokenizers().catch((x: unknown) => x)) as ApiError;
    expect(e.status).toBe(502);
    expect(e.message).toMatch(/server had a problem \(502 Bad Gateway\)/);
  });

  it("accepts DRF's {detail} shape", async () => {
    fetchMock.mockResolvedValue(jsonResponse(403, { detail: 'Authentication credentials were not provided.' }));
    const e = (await api.me().catch((x: unknown) => x)) as ApiError;
    expect(e.message).toBe('Authentication credentials were not provided.');
    expect(e.isAuthError).toBe(true);
  });

  it('turns network failures into status 0 errors', async () => {
    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'));
    const e = (await api.me().catch((x: unknown) => x)) as ApiError;
    expect(e).toBeInstanceOf(ApiError);
    expect(e.isNetworkError).toBe(true);
    expect(e.message).toMatch(/Cannot reach/);
  });

  it('rethrows aborts untouched', async () => {
    fetchMock.mockRejectedValue(new DOMException('aborted', 'AbortError'));
    const e = await api.me().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DOMException);
  });

  it('sends the CSRF token on unsafe methods only, and the team on every request', async () => {
    document.cookie = 'csrftoken=abc123';
    setTeam('nlp');
    fetchMock.mockResolvedValue(jsonResponse(200, []));
    await api.tokenizers();
    expect(lastInit().headers['X-CSRFToken']).toBeUndefined();
    expect(lastInit().headers['X-Team']).toBe('nlp');
    expect(lastInit().credentials).toBe('include');

    fetchMock.mockResolvedValue(jsonResponse(201, { id: 'j', status: 'succeeded' }));
    const res = await api.tokenize({ text: 'hi', tokenizers: ['a'] });
    expect(res.status).toBe(201);
    const init = lastInit();
    expect(init.method).toBe('POST');
    expect(init.headers['X-CSRFToken']).toBe('abc123');
    expect(init.headers['Content-Type']).toBe('application/json');
    expect(JSON.parse(init.body as string)).toEqual({ text: 'hi', tokenizers: ['a'] });
    expect(fetchMock.mock.calls.at(-1)![0]).toBe('/api/v1/tokenize/');
  });

  it('reports 202 for queued jobs and sends files as multipart', async () => {
    fetchMock.mockResolvedValue(jsonResponse(202, { id: 'j', status: 'queued' }));
    const file = new File(['hello'], 'a.txt', { type: 'text/plain' });
    const res = await api.tokenizeFile(file, ['a', 'b'], 'a');
    expect(res.status).toBe(202);
    const body = lastInit().body as FormData;
    expect(body).toBeInstanceOf(FormData);
    expect(body.getAll('tokenizers')).toEqual(['a', 'b']);
    expect(body.get('baseline')).toBe('a');
    expect(lastInit().headers['Content-Type']).toBeUndefined();
  });

  it('handles 204 No Content', async () => {
    fetchMock.mockResolvedValue(new Response(null, { status: 204 }));
    await expect(api.revokeApiToken(3)).resolves.toBeUndefined();
    expect(fetchMock.mock.calls.at(-1)![0]).toBe('/api/v1/auth/tokens/3/');
  });

  it('omits the team header on auth endpoints', async () => {
    setTeam('nlp');
    fetchMock.mockResolvedValue(jsonResponse(200, {}));
    await api.login({ username: 'u', password: 'p' });
    expect(lastInit().headers['X-Team']).toBeUndefined();
  });
});

describe('url helpers', () => {
  it('builds API urls with query strings', () => {
    expect(buildUrl('jobs/', { kind: 'tokenize', page: 2, empty: '' })).toBe('/api/v1/jobs/?kind=tokenize&page=2');
    expect(buildUrl('/api/v1/jobs/?page=2')).toBe('/api/v1/jobs/?page=2');
  });

  it('puts the team in export links', () => {
    expect(exportUrl('abc', 'csv', 'nlp')).toBe('/api/v1/jobs/abc/export/?format=csv&team=nlp');
    expect(exportUrl('abc', 'json', null)).toBe('/api/v1/jobs/abc/export/?format=json');
  });

  it('uses ws or wss to match the page', () => {
    expect(jobSocketUrl('j1', { protocol: 'http:', host: 'localhost:8000' })).toBe('ws://localhost:8000/ws/jobs/j1/');
    expect(jobSocketUrl('j1', { protocol: 'https:', host: 'ts.example.org' })).toBe('wss://ts.example.org/ws/jobs/j1/');
  });

  it('builds permalinks', () => {
    expect(permalinkFor({ id: 'j1', permalink: null }, 'https://x.org')).toBe('https://x.org/results/j1');
    expect(permalinkFor({ id: 'j1', permalink: '/results/j1' }, 'https://x.org')).toBe('https://x.org/results/j1');
    expect(permalinkFor({ id: 'j1', permalink: 'https://y.org/results/j1' }, 'https://x.org')).toBe('https://y.org/results/j1');
  });

  it('reads cookies', () => {
    expect(readCookie('csrftoken', 'a=1; csrftoken=x%3Dy; b=2')).toBe('x=y');
    expect(readCookie('missing', 'a=1')).toBeNull();
  });
});
