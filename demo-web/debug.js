// A report of the debug flavor (`heap.reports()` of wasm/wasmheap.js) as one line of text.
const hex = (v) => `0x${(v >>> 0).toString(16)}`;

export function describeReport(r) {
  let what = `#${r.seq} ${r.name.replaceAll('-', ' ')} (code ${r.code}) at ${hex(r.ptr)}`;
  if (r.id) what += `, allocation id ${r.id}`;
  if (r.reason) what += `: ${r.reason.replaceAll('-', ' ')}`;
  else if (r.code === 4 || r.code === 5) what += `: first changed byte at ${hex(r.detail)}`;
  else if (r.code === 6) what += `: check() code ${r.detail}`;
  return what;
}
