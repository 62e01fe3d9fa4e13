import { describe, expect, it } from 'vitest';
import { expandHostlist } from './hostlist.js';

describe('expandHostlist', () => {
  it('expands ranges, lists and plain names', () => {
    expect(expandHostlist('n[1-2]')).toEqual(['n1', 'n2']);
    expect(expandHostlist('n[1,3-4],login')).toEqual(['n1', 'n3', 'n4', 'login']);
    expect(expandHostlist('n2')).toEqual(['n2']);
  });

  it('keeps zero padding and multiplies several bracket groups', () => {
    expect(expandHostlist('gpu[08-10]')).toEqual(['gpu08', 'gpu09', 'gpu10']);
    expect(expandHostlist('r[1-2]n[1-2]')).toEqual(['r1n1', 'r1n2', 'r2n1', 'r2n2']);
  });

  it("reads Slurm's words for no nodes as []", () => {
    for (const none of ['', '(null)', 'None assigned', null, undefined]) expect(expandHostlist(none)).toEqual([]);
  });

  it('rejects malformed ranges', () => {
    expect(() => expandHostlist('n[3-1]')).toThrow(/bad hostlist range/);
    expect(() => expandHostlist('n[1-2')).toThrow(/unbalanced/);
  });
});
