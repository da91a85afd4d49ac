/**
 * Hand-worked traces of the supervisor model, from supervisor.erl. The model is checked
 * against them, and they run against the runtime before the random scenarios.
 */
import type { Event, Scenario } from './supervisor.model.js';

const start = (id: string): Event => ({ ev: 'start', id });
const stop = (id: string, reason: string): Event => ({ ev: 'stop', id, reason });
const which = (...list: string[]): Event => ({ ev: 'children', list });
const exit: Event = { ev: 'exit', reason: 'shutdown' };

export const examples: { scenario: Scenario; trace: Event[][] }[] = [
  {
    // Intensity 2: two restarts within the period are allowed, the third escalates untried,
    // stopping the others newest first.
    scenario: {
      strategy: 'one_for_one',
      intensity: 2,
      period: 5,
      restarts: ['permanent', 'permanent', 'permanent'],
      offsetMs: 0,
      commands: [
        { op: 'crash', child: 1, kind: 'abnormal' },
        { op: 'advance', ms: 4000 },
        { op: 'crash', child: 1, kind: 'normal' },
        { op: 'crash', child: 1, kind: 'shutdown' },
      ],
    },
    trace: [
      [start('c0'), start('c1'), start('c2'), which('c2', 'c1', 'c0')],
      [stop('c1', 'boom'), start('c1'), which('c2', 'c1', 'c0')],
      [which('c2', 'c1', 'c0')],
      [stop('c1', 'normal'), start('c1'), which('c2', 'c1', 'c0')],
      [stop('c1', 'shutdown'), stop('c2', 'shutdown'), stop('c0', 'shutdown'), exit],
    ],
  },
  {
    // Whole seconds: restarts at 0.9 s and 6.0 s are 6 s apart, so with period 5 the first
    // has left the window (0 < 6 - 5) and intensity 1 is not exceeded.
    scenario: {
      strategy: 'one_for_one',
      intensity: 1,
      period: 5,
      restarts: ['transient'],
      offsetMs: 900,
      commands: [
        { op: 'crash', child: 0, kind: 'abnormal' },
        { op: 'advance', ms: 5100 },
        { op: 'crash', child: 0, kind: 'abnormal' },
        { op: 'crash', child: 0, kind: 'shutdown' },
        { op: 'restartChild', child: 0 },
      ],
    },
    trace: [
      [start('c0'), which('c0')],
      [stop('c0', 'boom'), start('c0'), which('c0')],
      [which('c0')],
      [stop('c0', 'boom'), start('c0'), which('c0')],
      [stop('c0', 'shutdown'), which('c0:stopped')],
      [start('c0'), { ev: 'reply', op: 'restartChild', id: 'c0', result: 'ok' }, which('c0')],
    ],
  },
  {
    // The window's edge: a restart exactly `period` seconds ago still counts.
    scenario: {
      strategy: 'rest_for_one',
      intensity: 1,
      period: 2,
      restarts: ['permanent', 'temporary'],
      offsetMs: 0,
      commands: [
        { op: 'crash', child: 1, kind: 'abnormal' },
        { op: 'crash', child: 0, kind: 'abnormal' },
        { op: 'advance', ms: 2000 },
        { op: 'crash', child: 0, kind: 'abnormal' },
      ],
    },
    trace: [
      [start('c0'), start('c1'), which('c1', 'c0')],
      [stop('c1', 'boom'), which('c0')],
      [stop('c0', 'boom'), start('c0'), which('c0')],
      [which('c0')],
      [stop('c0', 'boom'), exit],
    ],
  },
  {
    // Whole seconds: restarts at 0.1 s and 1.9 s are at seconds 0 and 1, one period apart.
    scenario: {
      strategy: 'one_for_all',
      intensity: 1,
      period: 1,
      restarts: ['permanent', 'transient'],
      offsetMs: 100,
      commands: [
        { op: 'crash', child: 1, kind: 'abnormal' },
        { op: 'advance', ms: 1800 },
        { op: 'crash', child: 0, kind: 'normal' },
      ],
    },
    trace: [
      [start('c0'), start('c1'), which('c1', 'c0')],
      [stop('c1', 'boom'), stop('c0', 'shutdown'), start('c0'), start('c1'), which('c1', 'c0')],
      [which('c1', 'c0')],
      [stop('c0', 'normal'), stop('c1', 'shutdown'), exit],
    ],
  },
  {
    // one_for_all restarts a sibling stopped by terminateChild and forgets a temporary one.
    scenario: {
      strategy: 'one_for_all',
      intensity: 3,
      period: 5,
      restarts: ['permanent', 'temporary', 'transient', 'permanent'],
      offsetMs: 0,
      commands: [
        { op: 'terminateChild', child: 2 },
        { op: 'crash', child: 3, kind: 'abnormal' },
        { op: 'deleteChild', child: 1 },
      ],
    },
    trace: [
      [start('c0'), start('c1'), start('c2'), start('c3'), which('c3', 'c2', 'c1', 'c0')],
      [stop('c2', 'shutdown'), { ev: 'reply', op: 'terminateChild', id: 'c2', result: 'ok' }, which('c3', 'c2:stopped', 'c1', 'c0')],
      [stop('c3', 'boom'), stop('c1', 'shutdown'), stop('c0', 'shutdown'), start('c0'), start('c2'), start('c3'), which('c3', 'c2', 'c0')],
      [{ ev: 'reply', op: 'deleteChild', id: 'c1', result: 'not_found' }, which('c3', 'c2', 'c0')],
    ],
  },
  {
    // rest_for_one restarts the failed child and those started after it, stopped ones too.
    scenario: {
      strategy: 'rest_for_one',
      intensity: 3,
      period: 5,
      restarts: ['permanent', 'transient', 'permanent', 'permanent'],
      offsetMs: 0,
      commands: [
        { op: 'terminateChild', child: 3 },
        { op: 'crash', child: 1, kind: 'abnormal' },
        { op: 'crash', child: 1, kind: 'normal' },
        { op: 'deleteChild', child: 1 },
      ],
    },
    trace: [
      [start('c0'), start('c1'), start('c2'), start('c3'), which('c3', 'c2', 'c1', 'c0')],
      [stop('c3', 'shutdown'), { ev: 'reply', op: 'terminateChild', id: 'c3', result: 'ok' }, which('c3:stopped', 'c2', 'c1', 'c0')],
      [stop('c1', 'boom'), stop('c2', 'shutdown'), start('c1'), start('c2'), start('c3'), which('c3', 'c2', 'c1', 'c0')],
      [stop('c1', 'normal'), which('c3', 'c2', 'c1:stopped', 'c0')],
      [{ ev: 'reply', op: 'deleteChild', id: 'c1', result: 'ok' }, which('c3', 'c2', 'c0')],
    ],
  },
  {
    // A killed child runs no terminate, and neither does a brutal_kill child stopped by its
    // supervisor; `killed` is abnormal, so a transient child is restarted.
    scenario: {
      strategy: 'one_for_all',
      intensity: 3,
      period: 5,
      restarts: ['permanent', 'permanent', 'transient'],
      brutal: [0],
      offsetMs: 0,
      commands: [
        { op: 'crash', child: 2, kind: 'kill' },
        { op: 'terminateChild', child: 0 },
      ],
    },
    trace: [
      [start('c0'), start('c1'), start('c2'), which('c2', 'c1', 'c0')],
      [stop('c1', 'shutdown'), start('c0'), start('c1'), start('c2'), which('c2', 'c1', 'c0')],
      [{ ev: 'reply', op: 'terminateChild', id: 'c0', result: 'ok' }, which('c2', 'c1', 'c0:stopped')],
    ],
  },
  {
    // A policy change drops c1 (stopped), adds c3 (started), switches to rest_for_one with
    // intensity 0: the next restart escalates, stopping the others newest first.
    scenario: {
      strategy: 'one_for_one',
      intensity: 1,
      period: 5,
      restarts: ['permanent', 'temporary', 'transient'],
      offsetMs: 0,
      commands: [
        { op: 'changePolicy', strategy: 'rest_for_one', intensity: 0, period: 5, drop: [1], add: ['permanent'] },
        { op: 'crash', child: 2, kind: 'abnormal' },
      ],
    },
    trace: [
      [start('c0'), start('c1'), start('c2'), which('c2', 'c1', 'c0')],
      [stop('c1', 'shutdown'), start('c3'), { ev: 'reply', op: 'changePolicy', id: '-', result: 'terminated [c1] started [c3]' }, which('c3', 'c2', 'c0')],
      [stop('c2', 'boom'), stop('c3', 'shutdown'), stop('c0', 'shutdown'), exit],
    ],
  },
  {
    // The restarts made before a policy change count against the new intensity: one restart
    // (one_for_all) under intensity 2, then intensity 1: the next restart escalates.
    scenario: {
      strategy: 'one_for_all',
      intensity: 2,
      period: 10,
      restarts: ['permanent', 'permanent'],
      offsetMs: 0,
      commands: [
        { op: 'crash', child: 0, kind: 'abnormal' },
        { op: 'changePolicy', strategy: 'one_for_one', intensity: 1, period: 10, drop: [], add: [] },
        { op: 'crash', child: 1, kind: 'abnormal' },
      ],
    },
    trace: [
      [start('c0'), start('c1'), which('c1', 'c0')],
      [stop('c0', 'boom'), stop('c1', 'shutdown'), start('c0'), start('c1'), which('c1', 'c0')],
      [{ ev: 'reply', op: 'changePolicy', id: '-', result: 'terminated [] started []' }, which('c1', 'c0')],
      [stop('c1', 'boom'), stop('c0', 'shutdown'), exit],
    ],
  },
];
