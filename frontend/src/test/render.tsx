import { act, type ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';

/** Minimal render helper (no testing-library dependency). */
export function render(ui: ReactNode): { container: HTMLDivElement; root: Root; unmount: () => void; rerender: (ui: ReactNode) => void } {
  const container = document.createElement('div');
  document.body.appendChild(container);
  const root = createRoot(container);
  act(() => root.render(ui));
  return {
    container,
    root,
    rerender: (next) => act(() => root.render(next)),
    unmount: () => {
      act(() => root.unmount());
      container.remove();
    },
  };
}
