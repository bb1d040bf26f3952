import { describe, expect, it } from 'vitest';
import { NBD_INFO_BLOCK_SIZE, NBD_INFO_EXPORT, NBD_INFO_NAME } from '../src/protocol/constants.js';
import { decodeExportName, exportNameReply, greeting, HANDSHAKE_FLAGS, infoBlockSize, infoExport, infoText, metaContextReply, serverReply } from '../src/protocol/handshake.js';
import { decodeString, InvalidOption } from '../src/protocol/options.js';
import { ProtocolError } from '../src/protocol/requests.js';

describe('handshake encoding', () => {
  it('the greeting: NBDMAGIC, IHAVEOPT, FIXED_NEWSTYLE | NO_ZEROES', () => {
    expect(greeting(HANDSHAKE_FLAGS).toString('hex')).toBe(Buffer.from('NBDMAGICIHAVEOPT').toString('hex') + '0003');
    expect(greeting(HANDSHAKE_FLAGS & 1).toString('hex')).toBe(Buffer.from('NBDMAGICIHAVEOPT').toString('hex') + '0001');
  });

  it('the NBD_OPT_EXPORT_NAME answer is 10 bytes with NO_ZEROES, 134 without', () => {
    const short = exportNameReply(0x0102030405060708n, 0x1234, true);
    expect(short.toString('hex')).toBe('01020304050607081234');
    const long = exportNameReply(1n, 1, false);
    expect(long).toHaveLength(134);
    expect(long.subarray(10).every((b) => b === 0)).toBe(true);
  });

  it('INFO replies: type first, then the fields in network order', () => {
    expect(infoExport(512n, 0x0f).toString('hex')).toBe(`000${NBD_INFO_EXPORT}0000000000000200000f`);
    expect(infoText(NBD_INFO_NAME, 'dé')).toEqual(Buffer.concat([Buffer.from([0, NBD_INFO_NAME]), Buffer.from('dé', 'utf8')]));
    expect(infoBlockSize(1, 4096, 33554432).toString('hex')).toBe(`000${NBD_INFO_BLOCK_SIZE}` + '00000001' + '00001000' + '02000000');
    expect(serverReply('a', 'disk')).toEqual(Buffer.from([0, 0, 0, 1, 0x61, 0x64, 0x69, 0x73, 0x6b]));
    expect(metaContextReply(1, 'base:allocation').subarray(0, 4)).toEqual(Buffer.from([0, 0, 0, 1]));
  });

  it('one UTF-8 policy: a name that is not UTF-8 is refused by every option', () => {
    const bad = Buffer.from([0x66, 0xff, 0x6f]);
    expect(() => decodeString(bad, 'export name')).toThrow(InvalidOption);
    expect(() => decodeString(bad, 'export name')).toThrow('export name is not valid UTF-8');
    expect(() => decodeExportName(bad)).toThrow(ProtocolError);
    expect(() => decodeExportName(bad)).toThrow('NBD_OPT_EXPORT_NAME: export name is not valid UTF-8');
    expect(decodeExportName(Buffer.from('disk-é', 'utf8'))).toBe('disk-é');
  });
});
