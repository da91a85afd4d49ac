import { describe, expect, it } from 'vitest';
import { RestartIntensity } from '../../runtime/supervisor/restart-intensity.js';

describe('RestartIntensity (OTP: at most N restarts within the last P seconds, whole seconds, ends included)', () => {
  it('N restarts are allowed, the N+1th exceeds', () => {
    const r = new RestartIntensity();
    for (let i = 0; i < 3; i++) {
      r.add(100, 5);
      expect(r.exceeded(3)).toBe(false);
    }
    r.add(100, 5);
    expect(r.exceeded(3)).toBe(true);
  });

  it('a restart exactly `period` seconds old still counts; one older does not', () => {
    const r = new RestartIntensity();
    r.add(100, 5);
    r.add(105, 5);
    expect(r.count).toBe(2);
    r.add(106, 5);
    expect(r.count).toBe(2); // 100 left the window [101, 106]
  });

  it('a million restarts in one second cost constant work each and are all counted', () => {
    const r = new RestartIntensity();
    for (let i = 0; i < 1_000_000; i++) r.add(7, 1);
    expect(r.count).toBe(1_000_000);
    expect(r.exceeded(1_000_000)).toBe(false);
    r.add(9, 1);
    expect(r.count).toBe(1);
  });

  it('a clock stepping back counts with the newest second', () => {
    const r = new RestartIntensity();
    r.add(50, 2);
    r.add(48, 2);
    expect(r.count).toBe(2);
    r.add(53, 2);
    expect(r.count).toBe(1);
  });
});
