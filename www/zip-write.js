// A small .zip writer (the .vaelab bundle): each entry deflated by the browser's
// CompressionStream when that makes it smaller, else stored; CRC-32 and sizes in the local and
// central headers, no zip64 (a bundle is a few MB). zip.js reads what this writes, and so does
// any unzip tool.

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const EOCD = 0x06054b50;

let table = null;
/** CRC-32 (IEEE 802.3, as zip uses it) of `bytes`. */
export function crc32(bytes) {
  table ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

async function deflateRaw(bytes) {
  if (typeof CompressionStream !== 'function') return null;
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A zip of `files` ([{name, bytes: Uint8Array}], names in ASCII) as one Uint8Array. */
export async function zipFiles(files) {
  const parts = [];
  const central = [];
  let offset = 0;
  for (const { name, bytes } of files) {
    const nameBytes = new TextEncoder().encode(name);
    const crc = crc32(bytes);
    const deflated = await deflateRaw(bytes);
    const method = deflated && deflated.length < bytes.length ? 8 : 0;
    const data = method === 8 ? deflated : bytes;
    const header = (signature, size) => {
      const h = new DataView(new ArrayBuffer(size));
      h.setUint32(0, signature, true);
      return h;
    };
    // the fields local and central headers share, from "version needed" on
    const common = (h, at) => {
      h.setUint16(at, 20, true); // version needed: 2.0 (deflate)
      h.setUint16(at + 2, 0x0800, true); // flags: names in UTF-8
      h.setUint16(at + 4, method, true);
      h.setUint32(at + 6, 0x00210000, true); // time 00:00, date 1980-01-01: the bundle says when in its JSON
      h.setUint32(at + 10, crc, true);
      h.setUint32(at + 14, data.length, true);
      h.setUint32(at + 18, bytes.length, true);
      h.setUint16(at + 22, nameBytes.length, true);
    };
    const local = header(LOCAL, 30);
    common(local, 4);
    parts.push(new Uint8Array(local.buffer), nameBytes, data);
    const c = header(CENTRAL, 46);
    c.setUint16(4, 20, true); // made by: 2.0
    common(c, 6);
    c.setUint32(42, offset, true); // where its local header is
    central.push(new Uint8Array(c.buffer), nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const directorySize = central.reduce((s, p) => s + p.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, EOCD, true);
  end.setUint16(8, files.length, true);
  end.setUint16(10, files.length, true);
  end.setUint32(12, directorySize, true);
  end.setUint32(16, offset, true);
  return new Uint8Array(await new Blob([...parts, ...central, end.buffer]).arrayBuffer());
}
