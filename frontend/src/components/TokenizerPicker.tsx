import { useId, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { Tokenizer } from '../api/types';
import { formatInt } from '../lib/format';

export const MAX_TOKENIZERS = 6;

/** Case-insensitive match of every search term against name, id, family, algorithm and library. */
export function filterTokenizers(list: readonly Tokenizer[], query: string): Tokenizer[] {
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!terms.length) return [...list];
  return list.filter((t) => {
    const hay = `${t.name} ${t.id} ${t.family} ${t.algorithm} ${t.library}`.toLowerCase();
    return terms.every((term) => hay.includes(term));
  });
}

/** cl100k_base and a Llama 3 tokenizer when available, else the first available ones. */
export function defaultSelection(list: readonly Tokenizer[]): string[] {
  const avail = list.filter((t) => t.available);
  const picks: string[] = [];
  const cl100k = avail.find((t) => /cl100k/i.test(t.id));
  if (cl100k) picks.push(cl100k.id);
  const llama3 = avail.find((t) => /llama[\s_-]*3/i.test(`${t.name} ${t.id}`) && !picks.includes(t.id));
  if (llama3) picks.push(llama3.id);
  for (const t of avail) {
    if (picks.length >= 2) break;
    if (!picks.includes(t.id)) picks.push(t.id);
  }
  return picks;
}

interface Props {
  tokenizers: readonly Tokenizer[] | null;
  selected: readonly string[];
  onChange: (ids: string[]) => void;
  max?: number;
  disabled?: boolean;
  labelId?: string;
}

export function TokenizerPicker({ tokenizers, selected, onChange, max = MAX_TOKENIZERS, disabled, labelId }: Props) {
  const [query, setQuery] = useState('');
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const inputRef = useRef<HTMLInputElement>(null);
  const rootRef = useRef<HTMLDivElement>(null);
  const listRef = useRef<HTMLUListElement>(null);
  const uid = useId();
  const listboxId = `${uid}-listbox`;

  const byId = useMemo(() => new Map((tokenizers ?? []).map((t) => [t.id, t])), [tokenizers]);
  const options = useMemo(() => filterTokenizers(tokenizers ?? [], query), [tokenizers, query]);
  const full = selected.length >= max;

  const isDisabled = (t: Tokenizer) => !t.available || (full && !selected.includes(t.id));

  const toggle = (id: string) => {
    const t = byId.get(id);
    if (!t) return;
    if (selected.includes(id)) {
      onChange(selected.filter((s) => s !== id));
    } else if (!isDisabled(t)) {
      onChange([...selected, id]);
      if (query) {
        setQuery('');
        setActive(0);
      }
    }
  };

  const moveActive = (delta: number) => {
    if (!options.length) return;
    const next = (active + delta + options.length) % options.length;
    setActive(next);
    const el = listRef.current?.querySelector<HTMLElement>(`[data-index="${next}"]`);
    el?.scrollIntoView?.({ block: 'nearest' });
  };

  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      if (!open) setOpen(true);
      else moveActive(1);
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      if (!open) setOpen(true);
      else moveActive(-1);
    } else if (e.key === 'Enter') {
      if (open && options[active] && !(e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        toggle(options[active].id);
      }
    } else if (e.key === 'Escape') {
      if (open) {
        e.preventDefault();
        e.stopPropagation();
        setOpen(false);
      } else if (query) setQuery('');
    } else if (e.key === 'Backspace' && !query && selected.length) {
      onChange(selected.slice(0, -1));
    } else if (e.key === 'Home' && open) {
      e.preventDefault();
      setActive(0);
    } else if (e.key === 'End' && open) {
      e.preventDefault();
      setActive(Math.max(0, options.length - 1));
    }
  };

  const activeId = open && options[active] ? `${uid}-opt-${active}` : undefined;

  let lastFamily = '';
  return (
    <div
      className={`picker${open ? ' picker-open' : ''}`}
      ref={rootRef}
      data-testid="tokenizer-picker"
      onBlur={(e) => {
        if (!rootRef.current?.contains(e.relatedTarget as Node | null)) setOpen(false);
      }}
    >
      <div className="picker-anchor">
        <div
          className={`picker-field${disabled ? ' is-disabled' : ''}`}
          onMouseDown={(e) => {
            if (e.target === e.currentTarget) {
              e.preventDefault();
              inputRef.current?.focus();
              setOpen(true);
            }
          }}
        >
          {selected.map((id, i) => {
            const t = byId.get(id);
            return (
              <span className={`chip chip-${i % 6}`} key={id} data-testid="tokenizer-chip" data-tokenizer-id={id}>
                <span className="chip-label" title={id}>
                  {t?.name ?? id}
                </span>
                <button
                  type="button"
                  className="chip-remove"
                  aria-label={`Remove ${t?.name ?? id}`}
                  onClick={() => onChange(selected.filter((s) => s !== id))}
                  disabled={disabled}
                >
                  ×
                </button>
              </span>
            );
          })}
          <input
            ref={inputRef}
            className="picker-input"
            type="text"
            role="combobox"
            aria-autocomplete="list"
            aria-expanded={open}
            aria-controls={listboxId}
            aria-activedescendant={activeId}
            aria-labelledby={labelId}
            placeholder={selected.length ? (full ? `${max} selected (max)` : 'Add another…') : 'Search tokenizers…'}
            value={query}
            disabled={disabled}
            data-testid="tokenizer-search"
            onChange={(e) => {
              setQuery(e.target.value);
              setActive(0);
              setOpen(true);
            }}
            onFocus={() => setOpen(true)}
            onClick={() => setOpen(true)}
            onKeyDown={onKeyDown}
          />
        </div>
        {open && !disabled && (
          <ul className="picker-list" role="listbox" id={listboxId} aria-multiselectable="true" ref={listRef} data-testid="tokenizer-options">
            {tokenizers === null && <li className="picker-empty">Loading catalogue…</li>}
            {tokenizers !== null && options.length === 0 && <li className="picker-empty">No tokenizer matches “{query}”.</li>}
            {options.map((t, i) => {
              const isSel = selected.includes(t.id);
              const dis = isDisabled(t);
              const heading = t.family !== lastFamily ? t.family : null;
              lastFamily = t.family;
              return [
                heading !== null && !query ? (
                  <li key={`h-${t.family}-${i}`} className="picker-group" role="presentation">
                    {heading || 'Other'}
                  </li>
                ) : null,
                <li
                  key={t.id}
                  id={`${uid}-opt-${i}`}
                  role="option"
                  aria-selected={isSel}
                  aria-disabled={dis && !isSel}
                  data-index={i}
                  data-testid="tokenizer-option"
                  data-tokenizer-id={t.id}
                  className={`picker-option${i === active ? ' is-active' : ''}${isSel ? ' is-selected' : ''}${dis && !isSel ? ' is-disabled' : ''}`}
                  onMouseDown={(e) => e.preventDefault()}
                  onMouseEnter={() => setActive(i)}
                  onClick={() => toggle(t.id)}
                >
                  <span className="picker-check" aria-hidden="true">
                    {isSel ? '✓' : ''}
                  </span>
                  <span className="picker-option-main">
                    <span className="picker-option-name">{t.name}</span>
                    <span className="picker-option-meta">
                      {t.algorithm}
                      {t.vocab_size ? ` · ${formatInt(t.vocab_size)} vocab` : ''}
                      {!t.builtin ? ' · custom' : ''}
                    </span>
                  </span>
                  {!t.available && <span className="badge badge-muted">unavailable</span>}
                </li>,
              ];
            })}
          </ul>
        )}
      </div>
      <p className="field-hint" aria-live="polite">
        {selected.length}/{max} selected{full ? ' — remove one to add another' : ''}. ↑↓ to move, Enter to toggle, Backspace removes the last.
      </p>
    </div>
  );
}
