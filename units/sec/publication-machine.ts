/**
 * A non-publication challenge (paper 5.6.1, fault 3): the SU assigned slot n; it (or anyone)
 * must publish message n before the deadline, else the process is unhosted at n-1. Invoked by
 * the hosting machine for each such challenge. Like the liveness machine, it has no timers of
 * its own: EXPIRED comes from the origin actor with the time.
 */
import { assign, setup } from 'xstate';

export interface PublicationInput {
  challengeId: string;
  /** The challenged slot. */
  slot: number;
  /** The message the SU's assignment for `slot` names. */
  messageId: string;
  /** Unix ms. */
  deadline: number;
}

export interface PublicationContext extends PublicationInput {
  outcome?: 'published' | 'failed';
  /** Who published it: the SU (`host`) or an evidence item's id. */
  publishedBy?: string;
}

export type PublicationEvent =
  | { type: 'PUBLISHED'; challengeId: string; messageId: string; by: string }
  | { type: 'EXPIRED'; challengeId: string; now: number; head: number };

export interface PublicationOutput {
  outcome: 'published' | 'failed';
  slot: number;
  publishedBy?: string;
  /** On failure: the last slot of the log that stands (n-1). */
  unhostedAt?: number;
}

export const publicationMachine = setup({
  types: {
    input: {} as PublicationInput,
    context: {} as PublicationContext,
    events: {} as PublicationEvent,
    output: {} as PublicationOutput,
  },
  guards: {
    // Only message n itself answers the challenge.
    theMessage: ({ context, event }) => event.type === 'PUBLISHED' && event.challengeId === context.challengeId && event.messageId === context.messageId,
    due: ({ context, event }) => event.type === 'EXPIRED' && event.challengeId === context.challengeId && event.now >= context.deadline,
  },
}).createMachine({
  id: 'publication',
  context: ({ input }) => ({ ...input }),
  initial: 'waiting',
  states: {
    waiting: {
      on: {
        PUBLISHED: {
          guard: 'theMessage',
          target: 'published',
          actions: assign(({ event }) => ({ outcome: 'published' as const, publishedBy: (event as { by: string }).by })),
        },
        EXPIRED: { guard: 'due', target: 'failed', actions: assign({ outcome: 'failed' as const }) },
      },
    },
    published: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => ({
    outcome: context.outcome!,
    slot: context.slot,
    ...(context.publishedBy !== undefined ? { publishedBy: context.publishedBy } : {}),
    ...(context.outcome === 'failed' ? { unhostedAt: context.slot - 1 } : {}),
  }),
});
