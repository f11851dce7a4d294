//! What a page is: a route segment, a nav label, and a render function that may follow heads.
//! The registry (`pages/index.ts`) is the one place a new page (governance, contracts) is added.

import type { HeadEvent, Status } from '../chain/api';

export interface Ctx {
  /** The node's status when the console loaded (chain id, fee floor, validators). */
  status: Status;
  /** The latest finalized head seen. */
  head: () => HeadEvent | null;
}

export interface Live {
  /** Called on each new finalized head while the page is shown. */
  onHead?(h: HeadEvent): void;
  dispose?(): void;
}

export interface Page {
  /** The first segment of its hash route: `#/<route>/<args…>`. */
  route: string;
  /** Its label in the navigation; pages reached only by link (a block, a job) have none. */
  nav?: string;
  title(args: string[]): string;
  render(root: HTMLElement, args: string[], ctx: Ctx): Live | void | Promise<Live | void>;
}
