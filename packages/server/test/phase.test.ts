import { describe, expect, it } from 'vitest';
import { keepsSocket, nextPhase, type EndCause, type Phase } from '../src/connection/phase.js';
import { Admission } from '../src/limits/admission.js';

const PHASES: readonly Phase[] = ['handshake', 'transmission', 'draining', 'closed'];
const CAUSES: readonly EndCause[] = ['disconnect', 'no-export', 'client-gone', 'protocol-error', 'handshake-timeout', 'shutdown', 'killed', 'failure'];

describe('a connection\'s phases', () => {
  it('every transition, from every phase', () => {
    const table = PHASES.map((p) => [p, nextPhase(p, 'negotiated'), nextPhase(p, 'end'), nextPhase(p, 'idle')]);
    expect(table).toEqual([
      // phase          negotiated      end         idle
      ['handshake', 'transmission', 'draining', 'handshake'],
      ['transmission', 'transmission', 'draining', 'transmission'],
      ['draining', 'draining', 'draining', 'closed'],
      ['closed', 'closed', 'closed', 'closed'],
    ]);
  });

  it('every phase reaches closed through end then idle; a live connection never closes without an end', () => {
    for (const p of PHASES) expect(nextPhase(nextPhase(p, 'end'), 'idle')).toBe('closed');
    for (const p of ['handshake', 'transmission'] as const) expect(nextPhase(nextPhase(p, 'negotiated'), 'idle')).toBe('transmission');
  });

  it('replies still leave after a goodbye, a shutdown or a protocol error; not after the client went or the connection was dropped', () => {
    expect(CAUSES.filter(keepsSocket)).toEqual(['disconnect', 'no-export', 'protocol-error', 'shutdown']);
  });
});

describe('--max-connections slots', () => {
  it('serves up to the limit, then refuses up to its own limit, then drops', () => {
    const a = new Admission(2, 1);
    const first = a.admit();
    const second = a.admit();
    const third = a.admit();
    const fourth = a.admit();
    expect([first?.served, second?.served, third?.served, fourth]).toEqual([true, true, false, undefined]);
    expect([a.served, a.refusing]).toEqual([2, 1]);
  });

  it('a released slot is free again, and releasing twice frees it once', () => {
    const a = new Admission(1, 0);
    const slot = a.admit();
    expect(a.admit()).toBeUndefined();
    slot?.release();
    slot?.release();
    expect(a.served).toBe(0);
    expect(a.admit()?.served).toBe(true);
    expect(a.admit()).toBeUndefined();
  });

  it('refusals are counted apart and released apart', () => {
    const a = new Admission(1, 2);
    a.admit();
    const refused = a.admit();
    expect(refused?.served).toBe(false);
    refused?.release();
    refused?.release();
    expect([a.served, a.refusing]).toEqual([1, 0]);
  });
});
