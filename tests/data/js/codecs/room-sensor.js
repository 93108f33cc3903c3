// A made-up room sensor, written for loracity's tests (TS013 codec API).
//
// Uplink FPort 1 (5 bytes): temperature int16 big-endian in 0.1 degC, relative humidity in
// 0.5 %, battery uint16 big-endian in mV.
// Uplink FPort 2 (1 + 4n bytes): line count n, then per line people in and out (uint16 each).
// Downlink FPort 10 (3 bytes): 0x01, reporting interval in minutes (uint16 big-endian).

function readInt16(bytes, offset) {
  var value = (bytes[offset] << 8) | bytes[offset + 1];
  return value > 0x7fff ? value - 0x10000 : value;
}

function readUint16(bytes, offset) {
  return (bytes[offset] << 8) | bytes[offset + 1];
}

function decodeUplink(input) {
  var bytes = input.bytes;
  if (input.fPort === 1) {
    if (bytes.length !== 5) {
      return { errors: ["expected 5 bytes on FPort 1, got " + bytes.length] };
    }
    var warnings = [];
    var humidity = bytes[2] / 2;
    if (humidity > 100) {
      warnings.push("humidity above 100 %");
    }
    return {
      data: {
        temperature: readInt16(bytes, 0) / 10,
        humidity: humidity,
        battery_mv: readUint16(bytes, 3),
      },
      warnings: warnings,
      errors: [],
    };
  }
  if (input.fPort === 2) {
    var lines = {};
    for (var line = 1; line <= bytes[0]; line++) {
      var at = 1 + (line - 1) * 4;
      if (at + 4 > bytes.length) {
        return { errors: ["line " + line + " is cut short"] };
      }
      lines[String(line)] = { in: readUint16(bytes, at), out: readUint16(bytes, at + 2) };
    }
    return { data: { lines: lines }, warnings: [], errors: [] };
  }
  return { errors: ["unknown FPort " + input.fPort] };
}

function encodeDownlink(input) {
  var minutes = input.data.interval_minutes;
  if (typeof minutes !== "number" || minutes < 1 || minutes > 1440) {
    return { errors: ["interval_minutes must be 1-1440"] };
  }
  return { bytes: [0x01, (minutes >> 8) & 0xff, minutes & 0xff], fPort: 10, warnings: [], errors: [] };
}

function decodeDownlink(input) {
  if (input.fPort !== 10 || input.bytes.length !== 3 || input.bytes[0] !== 0x01) {
    return { errors: ["not an interval command"] };
  }
  return { data: { interval_minutes: readUint16(input.bytes, 1) }, warnings: [], errors: [] };
}
