// structuredClone (HTML §2.7.9) through V8's ValueSerializer, which implements the structured
// serialize/deserialize algorithms for ECMAScript values; Blob and File, which V8 sees as host
// objects, are written and read back through the hooks below. Failures are DataCloneError
// DOMExceptions. The `transfer` option takes ArrayBuffers only (anything else is a DataCloneError):
// they are copied into the clone and then detached.

import {blobInternals} from './blob.js';
import {DOMException, isDOMException} from './dom_exception.js';
import {nativeDeserialize, nativeSerialize, nativeTransferArrayBuffer} from './native.js';
import {isArrayBuffer, requiredArguments, toDictionary} from './webidl.js';

// Brand checks of the runtime's own interfaces that cannot be cloned (Headers, Request, ...).
// Their instances are platform objects, which the structured serialize algorithm refuses; to V8
// they are ordinary objects, so the value itself is checked here. (One nested inside another value
// is cloned as a plain object: V8 10.2's serializer hands only host objects to the embedder.)
export const platformObjectChecks = [];

// V8 reports values it cannot serialize as Errors ("#<Object> could not be cloned."); the host's
// serializer delegate names them DataCloneError.
function isDataCloneError(e) {
  if (isDOMException(e) || !(e instanceof Error)) return false;
  return e.name === 'DataCloneError' ||
      (e.constructor === Error && /could not be cloned|cannot be cloned/.test(e.message));
}

function writeHostObject(object) {
  if (blobInternals.is(object)) return blobInternals.serialize(object);
  throw new DOMException(`${Object.prototype.toString.call(object)} could not be cloned.`,
                         'DataCloneError');
}

export function structuredClone(value, options = undefined) {
  requiredArguments(arguments.length, 1, `Failed to execute 'structuredClone'`);
  const dict = toDictionary(options, 'StructuredSerializeOptions');
  let transfer = [];
  if (dict !== undefined && dict.transfer !== undefined) {
    transfer = Array.from(dict.transfer);
    const seen = new Set();
    for (const item of transfer) {
      if (!isArrayBuffer(item)) {
        throw new DOMException(
            `Failed to execute 'structuredClone': only ArrayBuffers can be transferred.`,
            'DataCloneError');
      }
      if (seen.has(item) || item.detached) {
        throw new DOMException(`Failed to execute 'structuredClone': an ArrayBuffer is detached` +
                               ` or listed twice in the transfer list.`, 'DataCloneError');
      }
      seen.add(item);
    }
  }
  for (const isPlatformObject of platformObjectChecks) {
    if (isPlatformObject(value)) {
      throw new DOMException(`Failed to execute 'structuredClone': ${
          Object.prototype.toString.call(value)} could not be cloned.`, 'DataCloneError');
    }
  }
  let data;
  try {
    data = nativeSerialize(value, writeHostObject);
  } catch (e) {
    if (isDataCloneError(e)) {
      throw new DOMException(e.message, 'DataCloneError');
    }
    throw e;  // e.g. a getter's own exception, which propagates unchanged
  }
  const out = nativeDeserialize(data);
  const result = out[0];
  for (let i = 1; i < out.length; i += 2) blobInternals.deserialize(out[i], out[i + 1]);
  // Transferred buffers were copied like the rest; detaching the originals makes the result the
  // same as a transfer's, to scripts.
  for (const buffer of transfer) nativeTransferArrayBuffer(buffer);
  return result;
}
