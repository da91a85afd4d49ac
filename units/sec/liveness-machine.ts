/**
 * A liveness challenge (paper 5.6.1, fault 1): the process's SU must schedule a given message
 * before a deadline. Invoked by the hosting machine for each liveness challenge.
 *
 * The machine reads no clock and sets no timer: its owner (the origin actor) sends EXPIRED with
 * the time when the deadline timer fires, and the guard decides. So a persisted snapshot has no
 * hidden timers to lose, and a restored machine behaves the same after a restart.
 */
import { assign, setup } from 'xstate';

export interface LivenessInput {
  challengeId: string;
  /** The message the SU must schedule. */
  messageId: string;
  /** Unix ms. */
  deadline: number;
}

export interface LivenessContext extends LivenessInput {
  outcome?: 'answered' | 'failed';
  /** Where the message was scheduled (answered). */
  slot?: number;
  assignmentId?: string;
  /** The last slot of the log when the deadline passed (failed). */
  head?: number;
}

export type LivenessEvent =
  | { type: 'ANSWERED'; challengeId: string; slot: number; assignmentId: string }
  | { type: 'EXPIRED'; challengeId: string; now: number; head: number };

export interface LivenessOutput {
  outcome: 'answered' | 'failed';
  slot?: number;
  assignmentId?: string;
  head?: number;
}

export const livenessMachine = setup({
  types: {
    input: {} as LivenessInput,
    context: {} as LivenessContext,
    events: {} as LivenessEvent,
    output: {} as LivenessOutput,
  },
  guards: {
    // Events of an older challenge (a timer armed before a restart) are ignored.
    ours: ({ context, event }) => event.challengeId === context.challengeId,
    due: ({ context, event }) => event.challengeId === context.challengeId && event.type === 'EXPIRED' && event.now >= context.deadline,
  },
}).createMachine({
  id: 'liveness',
  context: ({ input }) => ({ ...input }),
  initial: 'waiting',
  states: {
    waiting: {
      on: {
        ANSWERED: {
          guard: 'ours',
          target: 'answered',
          actions: assign(({ event }) => ({ outcome: 'answered' as const, slot: event.slot, assignmentId: event.assignmentId })),
        },
        EXPIRED: {
          guard: 'due',
          target: 'failed',
          actions: assign(({ event }) => ({ outcome: 'failed' as const, head: (event as { head: number }).head })),
        },
      },
    },
    answered: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => ({
    outcome: context.outcome!,
    ...(context.slot !== undefined ? { slot: context.slot } : {}),
    ...(context.assignmentId !== undefined ? { assignmentId: context.assignmentId } : {}),
    ...(context.head !== undefined ? { head: context.head } : {}),
  }),
});
