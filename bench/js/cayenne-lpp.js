// Cayenne Low Power Payload (LPP 1.0 and the common extensions), any FPort: a run of channel +
// type + value records, integers big-endian. Written for loracity's codec benchmark (TS013
// codec API). Fields are named <type>_<channel>; vectors (GPS, accelerometer, ...) are objects.

// code -> [name, [[key, bytes, signed, divisor], ...]]; a single "value" key is a scalar.
var TYPES = {
  0: ["digital_in", [["value", 1, false, 1]]],
  1: ["digital_out", [["value", 1, false, 1]]],
  2: ["analog_in", [["value", 2, true, 100]]],
  3: ["analog_out", [["value", 2, true, 100]]],
  100: ["generic_sensor", [["value", 4, false, 1]]],
  101: ["luminosity", [["value", 2, false, 1]]],
  102: ["presence", [["value", 1, false, 1]]],
  103: ["temperature", [["value", 2, true, 10]]],
  104: ["relative_humidity", [["value", 1, false, 2]]],
  113: ["accelerometer", [["x", 2, true, 1000], ["y", 2, true, 1000], ["z", 2, true, 1000]]],
  115: ["barometric_pressure", [["value", 2, false, 10]]],
  116: ["voltage", [["value", 2, false, 100]]],
  117: ["current", [["value", 2, false, 1000]]],
  118: ["frequency", [["value", 4, false, 1]]],
  120: ["percentage", [["value", 1, false, 1]]],
  121: ["altitude", [["value", 2, true, 1]]],
  125: ["concentration", [["value", 2, false, 1]]],
  128: ["power", [["value", 2, false, 1]]],
  130: ["distance", [["value", 4, false, 1000]]],
  131: ["energy", [["value", 4, false, 1000]]],
  132: ["direction", [["value", 2, false, 1]]],
  133: ["unix_time", [["value", 4, false, 1]]],
  134: ["gyrometer", [["x", 2, true, 100], ["y", 2, true, 100], ["z", 2, true, 100]]],
  135: ["colour", [["r", 1, false, 1], ["g", 1, false, 1], ["b", 1, false, 1]]],
  136: ["gps", [["latitude", 3, true, 10000], ["longitude", 3, true, 10000], ["altitude", 3, true, 100]]],
  142: ["switch", [["value", 1, false, 1]]],
};

function readInt(bytes, at, size, signed) {
  var value = 0;
  for (var i = 0; i < size; i++) {
    value = value * 256 + bytes[at + i];
  }
  var limit = Math.pow(2, 8 * size);
  return signed && value >= limit / 2 ? value - limit : value;
}

function decodeUplink(input) {
  var bytes = input.bytes;
  if (bytes.length === 0) {
    return { errors: ["empty payload"] };
  }
  var data = {};
  var warnings = [];
  var at = 0;
  while (at < bytes.length) {
    if (at + 2 > bytes.length) {
      return { errors: ["no type byte after channel " + bytes[at]] };
    }
    var channel = bytes[at];
    var type = TYPES[bytes[at + 1]];
    if (type === undefined) {
      warnings.push("unknown LPP type " + bytes[at + 1] + " on channel " + channel);
      break;
    }
    at += 2;
    var parts = type[1];
    var value = {};
    for (var p = 0; p < parts.length; p++) {
      var part = parts[p];
      if (at + part[1] > bytes.length) {
        return { errors: [type[0] + " on channel " + channel + " is cut short"] };
      }
      var raw = readInt(bytes, at, part[1], part[2]);
      value[part[0]] = part[3] === 1 ? raw : raw / part[3];
      at += part[1];
    }
    data[type[0] + "_" + channel] = parts.length === 1 ? value.value : value;
  }
  return { data: data, warnings: warnings, errors: [] };
}
