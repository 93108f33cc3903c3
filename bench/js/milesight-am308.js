// Milesight AM308 indoor ambience monitor, FPort 85: a run of channel id + channel type + data
// records, integers little-endian. Written for loracity's codec benchmark (TS013 codec API);
// periodic readings only (no device information or history records). An unknown record ends
// decoding with a warning, because its length cannot be known.

var PIR = ["idle", "trigger"];
var ON_OFF = ["off", "on"];

function u16(bytes, at) {
  return bytes[at] | (bytes[at + 1] << 8);
}

function i16(bytes, at) {
  var raw = u16(bytes, at);
  return raw > 0x7fff ? raw - 0x10000 : raw;
}

// "channel type" -> [data length, function(bytes, at, data)]
var RECORDS = {
  "1 117": [1, function (b, at, d) { d.battery = b[at]; }],
  "3 103": [2, function (b, at, d) { d.temperature = i16(b, at) / 10; }],
  "4 104": [1, function (b, at, d) { d.humidity = b[at] / 2; }],
  "5 0": [1, function (b, at, d) { d.pir = PIR[b[at]] === undefined ? b[at] : PIR[b[at]]; }],
  "6 203": [1, function (b, at, d) { d.light_level = b[at]; }],
  "7 125": [2, function (b, at, d) { d.co2 = u16(b, at); }],
  "8 125": [2, function (b, at, d) { d.tvoc_iaq = u16(b, at) / 100; }],
  "8 230": [2, function (b, at, d) { d.tvoc_ug_m3 = u16(b, at); }],
  "9 115": [2, function (b, at, d) { d.pressure = u16(b, at) / 10; }],
  "11 125": [2, function (b, at, d) { d.pm2_5 = u16(b, at); }],
  "12 125": [2, function (b, at, d) { d.pm10 = u16(b, at); }],
  "14 1": [1, function (b, at, d) { d.buzzer_status = ON_OFF[b[at]] === undefined ? b[at] : ON_OFF[b[at]]; }],
};

function decodeUplink(input) {
  var bytes = input.bytes;
  if (input.fPort !== 85) {
    return { errors: ["unknown FPort " + input.fPort] };
  }
  var data = {};
  var warnings = [];
  var at = 0;
  while (at < bytes.length) {
    if (at + 2 > bytes.length) {
      return { errors: ["record header cut short at byte " + at] };
    }
    var record = RECORDS[bytes[at] + " " + bytes[at + 1]];
    if (record === undefined) {
      warnings.push("unknown channel " + bytes[at] + " type " + bytes[at + 1] + " at byte " + at);
      break;
    }
    if (at + 2 + record[0] > bytes.length) {
      return { errors: ["record at byte " + at + " is cut short"] };
    }
    record[1](bytes, at + 2, data);
    at += 2 + record[0];
  }
  return { data: data, warnings: warnings, errors: [] };
}
