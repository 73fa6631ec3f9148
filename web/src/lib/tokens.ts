/**
 * Page tokens of a list paged on the server: the tokens of the pages before
 * the current one, so "previous" is a pop and "next" a push. The first
 * page's token is the empty string.
 */
export interface TokenStack {
  /** Tokens of the pages before the current, oldest first. */
  readonly previous: readonly string[];
  /** The current page's token. */
  readonly current: string;
}

export const firstPage: TokenStack = { previous: [], current: '' };

export function nextPage(stack: TokenStack, nextToken: string): TokenStack {
  return { previous: [...stack.previous, stack.current], current: nextToken };
}

export function previousPage(stack: TokenStack): TokenStack {
  if (stack.previous.length === 0) return stack;
  return {
    previous: stack.previous.slice(0, -1),
    current: stack.previous[stack.previous.length - 1] ?? '',
  };
}

/** 1-based number of the current page. */
export function pageNumber(stack: TokenStack): number {
  return stack.previous.length + 1;
}
