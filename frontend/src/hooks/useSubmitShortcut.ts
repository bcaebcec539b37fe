import { useEffect } from 'react';

/** Ctrl/⌘ + Enter anywhere on the page runs ``submit`` (the Lab and Speculative pages' "run" shortcut). */
export function useSubmitShortcut(submit: () => unknown): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        void submit();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [submit]);
}
