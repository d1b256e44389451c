// structuredClone (HTML §2.7.9) through V8's ValueSerializer, which implements the structured
// serialize/deserialize algorithms for ECMAScript values. Failures are DataCloneError
// DOMExceptions. Transferring (the `transfer` option) is not supported: a non-empty transfer list
// is a DataCloneError rather than a silent copy.

import {DOMException, isDOMException} from './dom_exception.js';
import {nativeDeserialize, nativeSerialize} from './native.js';
import {requiredArguments, toDictionary} from './webidl.js';

// Brand checks of the runtime's own interfaces (Headers, Request, ...). Their instances are
// platform objects, which the structured serialize algorithm refuses; to V8 they are ordinary
// objects, so the value itself is checked here. (One nested inside another value is cloned as a
// plain object: V8 10.2's serializer offers no hook for JavaScript-defined platform objects.)
export const platformObjectChecks = [];

// V8 reports values it cannot serialize as Errors ("#<Object> could not be cloned."); the host's
// serializer delegate names them DataCloneError.
function isDataCloneError(e) {
  if (isDOMException(e) || !(e instanceof Error)) return false;
  return e.name === 'DataCloneError' ||
      (e.constructor === Error && /could not be cloned|cannot be cloned/.test(e.message));
}

export function structuredClone(value, options = undefined) {
  requiredArguments(arguments.length, 1, `Failed to execute 'structuredClone'`);
  const dict = toDictionary(options, 'StructuredSerializeOptions');
  if (dict !== undefined && dict.transfer !== undefined) {
    const transfer = Array.from(dict.transfer);
    if (transfer.length > 0) {
      throw new DOMException(
          `Failed to execute 'structuredClone': transferring objects is not supported.`,
          'DataCloneError');
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
    data = nativeSerialize(value);
  } catch (e) {
    if (isDataCloneError(e)) {
      throw new DOMException(e.message, 'DataCloneError');
    }
    throw e;  // e.g. a getter's own exception, which propagates unchanged
  }
  return nativeDeserialize(data);
}
