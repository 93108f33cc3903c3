// The bridge between loracity and one JavaScript payload codec, evaluated in the codec's own V8
// context before the codec's source, as `(<this function>)(globalThis, bufferLimitBytes, names)`.
//
// It defines one frozen, non-configurable global, `__loracity`, with `load(source)` and
// `call(name, args, recvTime)`; each returns a single JSON string
// `{"status": ..., "message"?: ..., "type"?: ..., "result"?: ...}` and never throws for anything
// the codec does. Every built-in the bridge relies on is captured before the codec runs, so a
// codec that rewrites globals or prototypes changes only its own output.
//
// Besides the bridge, this file closes the gaps that V8's own limits leave open:
// - ArrayBuffer memory lives outside the V8 heap, so the heap limit never sees it: every way of
//   allocating a buffer is counted against `bufferLimit`, per call and per context.
// - Work scheduled to run after a call (timers, Atomics.waitAsync, finalizer callbacks) would run
//   outside any time limit: those entry points are removed. (Promise jobs cannot be removed;
//   loracity waits for them to drain within the call's time limit instead.)
(function install(global, bufferLimit, exportedNames) {
  "use strict";

  const { apply, construct, defineProperty, deleteProperty, getOwnPropertyDescriptor, getPrototypeOf } =
    Reflect;
  const stringify = JSON.stringify;
  const freeze = Object.freeze;
  const isArray = Array.isArray;
  const arrayFrom = Array.from;
  const trunc = Math.trunc;
  const iteratorSymbol = Symbol.iterator;
  const ProxyCtor = Proxy;
  const DateCtor = Date;
  const StringCtor = String;
  const NumberCtor = Number;
  const RangeErrorCtor = RangeError;
  const indirectEval = global.eval;

  // ---- ArrayBuffer accounting -----------------------------------------------------------------
  // `sinceStart` never decreases (garbage is not tracked): when a context has allocated its limit
  // over many calls, loracity replaces it with a fresh one and repeats the call ("recycle"),
  // which bounds the memory a codec can hold on to. A single call above the limit is an
  // out-of-memory failure.
  let sinceStart = 0;
  let thisCall = 0;
  let callOverLimit = false;
  let contextOverLimit = false;

  function charge(bytes) {
    if (!(bytes > 0)) return;
    if (thisCall + bytes > bufferLimit) {
      callOverLimit = true;
      throw new RangeErrorCtor("loracity: ArrayBuffer memory limit reached");
    }
    if (sinceStart + bytes > bufferLimit) {
      contextOverLimit = true;
      throw new RangeErrorCtor("loracity: ArrayBuffer memory limit reached");
    }
    thisCall += bytes;
    sinceStart += bytes;
  }

  function count(number) {
    const whole = trunc(number);
    return whole > 0 ? whole : 0;
  }

  function getter(object, key) {
    return getOwnPropertyDescriptor(object, key).get;
  }

  const TypedArray = getPrototypeOf(Uint8Array);
  const bufferByteLength = getter(ArrayBuffer.prototype, "byteLength");
  const typedLength = getter(TypedArray.prototype, "length");
  const typedName = getter(TypedArray.prototype, Symbol.toStringTag);
  const elementSize = { __proto__: null };

  function byteLengthOf(value) {
    try {
      return apply(bufferByteLength, value, []);
    } catch (error) {
      return -1;
    }
  }

  function lengthOf(value) {
    try {
      return apply(typedLength, value, []);
    } catch (error) {
      return -1;
    }
  }

  function copyBytes(view) {
    const length = lengthOf(view);
    if (length <= 0) return 0;
    return length * (elementSize[apply(typedName, view, [])] || 8);
  }

  function define(object, key, value) {
    defineProperty(object, key, { value, writable: true, configurable: true, enumerable: false });
  }

  // Replaces a global constructor by a proxy that sizes the allocation first. The prototype's
  // `constructor` points at the proxy too, because species lookups (slice, map, ...) go there.
  function guardConstructor(name, sanitize) {
    const original = global[name];
    if (typeof original !== "function") return undefined;
    const guarded = new ProxyCtor(original, {
      construct(target, args, newTarget) {
        return construct(target, sanitize(args), newTarget);
      },
    });
    define(original.prototype, "constructor", guarded);
    define(global, name, guarded);
    return original;
  }

  function wrapMethod(object, key, before) {
    const original = object[key];
    if (typeof original !== "function") return;
    const wrapped = {
      [key](...args) {
        before(this, args);
        return apply(original, this, args);
      },
    }[key];
    define(object, key, wrapped);
  }

  guardConstructor("ArrayBuffer", (args) => {
    // Numbers are computed once and passed on, so a valueOf() or getter cannot report one size
    // to the check and another to V8.
    const length = NumberCtor(args[0]);
    const options = args[1];
    let maxByteLength;
    if (options !== null && (typeof options === "object" || typeof options === "function")) {
      maxByteLength = options.maxByteLength;
      if (maxByteLength !== undefined) maxByteLength = NumberCtor(maxByteLength);
    }
    if (maxByteLength === undefined) {
      charge(count(length));
      return [length];
    }
    charge(count(length > maxByteLength ? length : maxByteLength));
    return [length, { maxByteLength }];
  });

  const typedArrayNames = [
    "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Float16Array",
    "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
  ];
  const originalUint8Array = Uint8Array;
  for (const name of typedArrayNames) {
    const original = global[name];
    if (typeof original !== "function") continue;
    const size = original.BYTES_PER_ELEMENT;
    elementSize[name] = size;
    guardConstructor(name, (args) => {
      if (args.length === 0) return args;
      const first = args[0];
      if (first === undefined) return args;
      if (first === null || (typeof first !== "object" && typeof first !== "function")) {
        const length = NumberCtor(first);
        charge(count(length) * size);
        return [length];
      }
      if (byteLengthOf(first) >= 0) return args; // a view on an existing buffer
      const length = lengthOf(first);
      if (length >= 0) {
        charge(length * size);
        return [first];
      }
      // Iterables and array-likes are read exactly once, into an ordinary array that V8 then
      // copies: the size that was checked is the size that gets allocated.
      const iterator = first[iteratorSymbol];
      if (iterator !== undefined && iterator !== null) {
        const items = apply(arrayFrom, undefined, [first]);
        charge(items.length * size);
        return [items];
      }
      const itemCount = count(NumberCtor(first.length));
      charge(itemCount * size);
      const items = [];
      for (let index = 0; index < itemCount; index += 1) items[index] = first[index];
      return [items];
    });
  }

  // These allocate through the intrinsic constructors, bypassing the proxies above (species
  // falls back to the intrinsic when `constructor` is undefined); the result is at most a copy.
  for (const key of ["slice", "map", "filter", "toReversed", "toSorted", "with"]) {
    wrapMethod(TypedArray.prototype, key, (self) => charge(copyBytes(self)));
  }
  wrapMethod(ArrayBuffer.prototype, "slice", (self) => charge(byteLengthOf(self)));
  for (const key of ["transfer", "transferToFixedLength"]) {
    wrapMethod(ArrayBuffer.prototype, key, (self, args) => {
      if (args.length > 0 && args[0] !== undefined) {
        args[0] = NumberCtor(args[0]);
        charge(count(args[0]));
      } else {
        charge(byteLengthOf(self));
      }
    });
  }
  for (const key of ["fromBase64", "fromHex"]) {
    const original = originalUint8Array[key];
    if (typeof original !== "function") continue;
    const wrapped = {
      [key](...args) {
        // The result is no larger than its (heap-limited) input string: count it afterwards.
        const result = apply(original, this, args);
        charge(lengthOf(result));
        return result;
      },
    }[key];
    define(originalUint8Array, key, wrapped);
  }

  // ---- no work after a call ends --------------------------------------------------------------
  for (const name of ["SharedArrayBuffer", "WebAssembly", "FinalizationRegistry"]) {
    deleteProperty(global, name);
  }
  if (typeof Atomics === "object") deleteProperty(Atomics, "waitAsync");
  // mini-racer installs these as non-configurable globals: they can only be emptied.
  for (const name of ["setTimeout", "clearTimeout", "__timer_manager"]) {
    if (name in global) global[name] = undefined;
  }

  // ---- the bridge -----------------------------------------------------------------------------
  const functions = { __proto__: null };

  function begin() {
    thisCall = 0;
    callOverLimit = false;
    contextOverLimit = false;
  }

  function finish(text) {
    if (callOverLimit) return '{"status":"out_of_memory"}';
    if (contextOverLimit) return '{"status":"recycle"}';
    return text;
  }

  function describe(error) {
    try {
      return StringCtor(error);
    } catch (nested) {
      return "an exception that cannot be shown as text";
    }
  }

  function failure(status, message) {
    // stringify() of a primitive string never runs codec code (no toJSON lookup).
    return finish('{"status":"' + status + '","message":' + stringify(message) + "}");
  }

  function success(value) {
    let text;
    try {
      text = stringify(value);
    } catch (error) {
      return failure("unserialisable", describe(error));
    }
    let type = typeof value;
    if (value === null) type = "null";
    else if (isArray(value)) type = "array";
    return finish('{"status":"ok","type":"' + type + '","result":' + (text === undefined ? "null" : text) + "}");
  }

  // The trailer runs in the codec's own scope, so functions declared with const/let, or inside a
  // "use strict" source (where eval keeps declarations local), are found as well.
  let trailer = "\n;[";
  for (const name of exportedNames) {
    trailer += 'typeof ' + name + ' === "function" ? ' + name + " : undefined,";
  }
  trailer += "]\n";

  function load(source) {
    begin();
    let exported;
    try {
      exported = indirectEval(source + trailer);
    } catch (error) {
      return failure("threw", describe(error));
    }
    if (!isArray(exported) || exported.length !== exportedNames.length) {
      return failure("threw", "the source does not end cleanly (an unterminated comment?)");
    }
    let names = "";
    for (let index = 0; index < exportedNames.length; index += 1) {
      if (typeof exported[index] === "function") {
        functions[exportedNames[index]] = exported[index];
        names += (names ? "," : "") + exportedNames[index];
      }
    }
    return finish('{"status":"ok","type":"string","result":' + stringify(names) + "}");
  }

  function call(name, args, recvTime) {
    begin();
    const fn = functions[name];
    if (typeof fn !== "function") return failure("missing", "the codec defines no " + name);
    let result;
    try {
      if (recvTime !== undefined) args[0].recvTime = new DateCtor(recvTime);
      result = apply(fn, undefined, args);
    } catch (error) {
      return failure("threw", describe(error));
    }
    return success(result);
  }

  defineProperty(global, "__loracity", {
    value: freeze({ load, call }),
    writable: false,
    configurable: false,
    enumerable: false,
  });
})
