/**
 * The hosting lifecycle of one process, as the AO-Sec origin sees it (paper 5.6.1, 5.6.2):
 *
 *   hosted ──LIVENESS──▶ challenged.liveness ──answered──▶ hosted
 *          ──PUBLICATION─▶ challenged.publication ──published──▶ hosted
 *   challenged.* ──failed──▶ unhosted            (the invoked challenge machine decides)
 *   hosted | challenged.* ──DOUBLE_ASSIGNMENT──▶ unhosted   (verified evidence)
 *   unhosted ──OFFER (more / reject)──▶ unhosted ──OFFER_ACCEPTED──▶ hosted (by the new SU)
 *
 * One challenge at a time: a challenge event in `challenged` is not accepted (the origin asks
 * `snapshot.can(event)` and answers with a reason). Every event carries its time (`at`), so the
 * machine is a pure function of its events and its snapshot can be persisted and restored.
 * Verifying signatures, asking the SU and dry-running offers happen outside, in the origin
 * actor: the machine only gets facts.
 */
import { assign, sendTo, setup } from 'xstate';
import { livenessMachine, type LivenessOutput } from './liveness-machine.js';
import { publicationMachine, type PublicationOutput } from './publication-machine.js';

export interface Host {
  /** The SU's wallet address. */
  address: string;
  /** Where it is reached (its Scheduler-Location Url), when known. */
  url?: string;
  /** Unix ms. */
  since: number;
  /** The accepted offer that made it the host. */
  offerId?: string;
}

export interface OpenChallenge {
  kind: 'liveness' | 'publication';
  challengeId: string;
  deadline: number;
  messageId: string;
  /** publication: the challenged slot */
  slot?: number;
}

export interface HistoryEntry {
  at: number;
  event: string;
  detail: Record<string, unknown>;
}

export interface HostingContext {
  processId: string;
  host: Host;
  challenge?: OpenChallenge;
  /** Unhosted: the last slot of the log that stands, and why. */
  unhostedAt?: number;
  reason?: string;
  /** Double assignment: the assignment kept at the disputed slot (the first submitted). */
  kept?: { slot: number; assignmentId: string; messageId: string };
  history: HistoryEntry[];
}

export interface HostingInput {
  processId: string;
  host: Host;
}

export type HostingEvent =
  | { type: 'LIVENESS'; at: number; challengeId: string; messageId: string; deadline: number }
  | { type: 'PUBLICATION'; at: number; challengeId: string; slot: number; messageId: string; deadline: number }
  | { type: 'ANSWERED'; challengeId: string; slot: number; assignmentId: string }
  | { type: 'PUBLISHED'; challengeId: string; messageId: string; by: string }
  | { type: 'EXPIRED'; challengeId: string; now: number; head: number }
  | {
      type: 'DOUBLE_ASSIGNMENT';
      at: number;
      evidenceId: string;
      slot: number;
      kept: { assignmentId: string; messageId: string };
      other: { assignmentId: string; messageId: string };
    }
  | { type: 'OFFER'; at: number; offerId: string; address: string; decision: 'more' | 'reject'; answer?: string }
  | { type: 'OFFER_ACCEPTED'; at: number; offerId: string; address: string; url?: string; nextSlot: number };

const entry = (at: number, event: string, detail: Record<string, unknown>): HistoryEntry => ({ at, event, detail });

export const hostingMachine = setup({
  types: {
    input: {} as HostingInput,
    context: {} as HostingContext,
    events: {} as HostingEvent,
  },
  actors: { liveness: livenessMachine, publication: publicationMachine },
  actions: {
    proveDoubleAssignment: assign(({ context, event }) => {
      const e = event as Extract<HostingEvent, { type: 'DOUBLE_ASSIGNMENT' }>;
      return {
        challenge: undefined,
        kept: { slot: e.slot, ...e.kept },
        // The log stands up to the disputed slot, which holds the first submitted assignment.
        unhostedAt: e.slot,
        reason: `double assignment at slot ${e.slot} signed by ${context.host.address}`,
        history: [...context.history, entry(e.at, 'unhosted', { cause: 'double assignment', evidenceId: e.evidenceId, slot: e.slot, kept: e.kept, other: e.other })],
      };
    }),
  },
  guards: {
    answered: ({ event }) => (event as unknown as { output: LivenessOutput }).output.outcome === 'answered',
    published: ({ event }) => (event as unknown as { output: PublicationOutput }).output.outcome === 'published',
  },
}).createMachine({
  id: 'hosting',
  context: ({ input }) => ({ processId: input.processId, host: input.host, history: [] }),
  initial: 'hosted',
  states: {
    hosted: {
      on: {
        LIVENESS: {
          target: 'challenged.liveness',
          actions: assign(({ context, event }) => ({
            challenge: { kind: 'liveness' as const, challengeId: event.challengeId, deadline: event.deadline, messageId: event.messageId },
            history: [...context.history, entry(event.at, 'liveness challenge', { challengeId: event.challengeId, messageId: event.messageId, deadline: event.deadline })],
          })),
        },
        PUBLICATION: {
          target: 'challenged.publication',
          actions: assign(({ context, event }) => ({
            challenge: { kind: 'publication' as const, challengeId: event.challengeId, deadline: event.deadline, messageId: event.messageId, slot: event.slot },
            history: [
              ...context.history,
              entry(event.at, 'non-publication challenge', { challengeId: event.challengeId, slot: event.slot, messageId: event.messageId, deadline: event.deadline }),
            ],
          })),
        },
        DOUBLE_ASSIGNMENT: { target: 'unhosted', actions: 'proveDoubleAssignment' },
      },
    },
    challenged: {
      // Always entered at a child state (challenged.liveness / challenged.publication).
      initial: 'liveness',
      on: { DOUBLE_ASSIGNMENT: { target: 'unhosted', actions: 'proveDoubleAssignment' } },
      states: {
        liveness: {
          invoke: {
            id: 'challenge',
            src: 'liveness',
            input: ({ context }) => ({ challengeId: context.challenge!.challengeId, messageId: context.challenge!.messageId, deadline: context.challenge!.deadline }),
            onDone: [
              {
                guard: 'answered',
                target: '#hosting.hosted',
                actions: assign(({ context, event }) => ({
                  challenge: undefined,
                  history: [...context.history, entry(context.challenge!.deadline, 'liveness answered', { ...event.output, challengeId: context.challenge!.challengeId })],
                })),
              },
              {
                target: '#hosting.unhosted',
                actions: assign(({ context, event }) => ({
                  challenge: undefined,
                  unhostedAt: event.output.head,
                  reason: `liveness challenge ${context.challenge!.challengeId} not answered by ${context.host.address} before ${new Date(context.challenge!.deadline).toISOString()}`,
                  history: [...context.history, entry(context.challenge!.deadline, 'unhosted', { cause: 'liveness', unhostedAt: event.output.head })],
                })),
              },
            ],
          },
          on: {
            ANSWERED: { actions: sendTo('challenge', ({ event }) => event) },
            EXPIRED: { actions: sendTo('challenge', ({ event }) => event) },
          },
        },
        publication: {
          invoke: {
            id: 'challenge',
            src: 'publication',
            input: ({ context }) => ({
              challengeId: context.challenge!.challengeId,
              slot: context.challenge!.slot!,
              messageId: context.challenge!.messageId,
              deadline: context.challenge!.deadline,
            }),
            onDone: [
              {
                guard: 'published',
                target: '#hosting.hosted',
                actions: assign(({ context, event }) => ({
                  challenge: undefined,
                  history: [...context.history, entry(context.challenge!.deadline, 'message published', { ...event.output, challengeId: context.challenge!.challengeId })],
                })),
              },
              {
                target: '#hosting.unhosted',
                actions: assign(({ context, event }) => ({
                  challenge: undefined,
                  unhostedAt: event.output.unhostedAt,
                  reason: `message at slot ${event.output.slot} not published before ${new Date(context.challenge!.deadline).toISOString()}`,
                  history: [...context.history, entry(context.challenge!.deadline, 'unhosted', { cause: 'non-publication', unhostedAt: event.output.unhostedAt })],
                })),
              },
            ],
          },
          on: {
            PUBLISHED: { actions: sendTo('challenge', ({ event }) => event) },
            EXPIRED: { actions: sendTo('challenge', ({ event }) => event) },
          },
        },
      },
    },
    unhosted: {
      on: {
        OFFER: {
          actions: assign(({ context, event }) => ({
            history: [...context.history, entry(event.at, `offer: ${event.decision}`, { offerId: event.offerId, address: event.address, ...(event.answer ? { answer: event.answer } : {}) })],
          })),
        },
        OFFER_ACCEPTED: {
          target: 'hosted',
          actions: assign(({ context, event }) => ({
            host: { address: event.address, ...(event.url ? { url: event.url } : {}), since: event.at, offerId: event.offerId },
            unhostedAt: undefined,
            reason: undefined,
            history: [...context.history, entry(event.at, 'offer: accept', { offerId: event.offerId, address: event.address, nextSlot: event.nextSlot })],
          })),
        },
      },
    },
  },
});

export type HostingMachine = typeof hostingMachine;
