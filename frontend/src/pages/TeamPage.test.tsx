import { act } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SessionContext, type Session } from '../session';
import { render } from '../test/render';
import { TeamPage } from './TeamPage';

const json = (status: number, body: unknown) => new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

function session(role: 'owner' | 'member'): Session {
  const team = { id: 1, slug: 'lab', name: 'NLP lab', role };
  return { me: { user: { id: 1, username: 'ana' }, teams: [team], current_team: 'lab' }, team, selectTeam: () => {} } as unknown as Session;
}

async function flush() {
  await act(async () => {
    for (let i = 0; i < 6; i++) await Promise.resolve();
  });
}

describe('TeamPage members', () => {
  let members: { username: string; role: string; joined_at: string | null }[];
  let fetchMock: ReturnType<typeof vi.fn>;
  beforeEach(() => {
    members = [
      { username: 'bo', role: 'viewer', joined_at: '2026-01-02T00:00:00Z' },
      { username: 'ana', role: 'owner', joined_at: '2026-01-01T00:00:00Z' },
    ];
    fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
      if (url === '/api/v1/teams/lab/members/' && init?.method === 'POST') {
        const body = JSON.parse(String(init.body));
        if (body.username === 'ghost') return json(404, { message: "No user called 'ghost'.", extra: {} });
        const m = { ...body, joined_at: '2026-02-01T00:00:00Z' };
        members.push(m);
        return json(201, m);
      }
      if (url === '/api/v1/teams/lab/members/') return json(200, members);
      if (url === '/api/v1/auth/tokens/') return json(200, []);
      return json(404, { message: 'no mock' });
    });
    vi.stubGlobal('fetch', fetchMock);
  });
  afterEach(() => vi.unstubAllGlobals());

  const mount = async (role: 'owner' | 'member') => {
    const r = render(
      <SessionContext.Provider value={session(role)}>
        <TeamPage />
      </SessionContext.Provider>,
    );
    await flush();
    return r;
  };

  it('lists members with their roles, owners first', async () => {
    const r = await mount('member');
    const rows = Array.from(r.container.querySelectorAll<HTMLElement>('[data-testid="member-row"]'));
    expect(rows.map((e) => [e.dataset.username, e.dataset.role])).toEqual([
      ['ana', 'owner'],
      ['bo', 'viewer'],
    ]);
    expect(rows[0].textContent).toContain('(you)');
    expect(r.container.querySelector('[data-testid="add-member-form"]')).toBeNull();
    r.unmount();
  });

  it('lets owners add a member, and shows the server’s message when that fails', async () => {
    const r = await mount('owner');
    const input = r.container.querySelector<HTMLInputElement>('[data-testid="add-member-username"]')!;
    const select = r.container.querySelector<HTMLSelectElement>('[data-testid="add-member-role"]')!;
    const type = (v: string) =>
      act(() => {
        Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(input, v);
        input.dispatchEvent(new Event('input', { bubbles: true }));
      });
    type('ghost');
    await act(async () => r.container.querySelector<HTMLButtonElement>('[data-testid="add-member-submit"]')!.click());
    await flush();
    expect(r.container.querySelector('[data-testid="error-message"]')!.textContent).toBe("No user called 'ghost'.");
    type('cy');
    act(() => {
      Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value')!.set!.call(select, 'viewer');
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await act(async () => r.container.querySelector<HTMLButtonElement>('[data-testid="add-member-submit"]')!.click());
    await flush();
    const post = fetchMock.mock.calls.find(([, init]) => (init as RequestInit | undefined)?.method === 'POST' && String((init as RequestInit).body).includes('cy'))!;
    expect(JSON.parse(String((post[1] as RequestInit).body))).toEqual({ username: 'cy', role: 'viewer' });
    expect(r.container.querySelector('[data-testid="add-member-success"]')!.textContent).toMatch(/cy is now a viewer of NLP lab/);
    expect(Array.from(r.container.querySelectorAll<HTMLElement>('[data-testid="member-row"]'), (e) => e.dataset.username)).toContain('cy');
    r.unmount();
  });
});
