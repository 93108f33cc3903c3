// Dragino LHT65 temperature and humidity sensor, FPort 2, 11 bytes (7 without external
// sensor). Written for loracity's codec benchmark (TS013 codec API); external sensor types
// 0 (none) and 1 (E1 temperature probe) only. Integers are big-endian; 0x7FFF means "not
// connected".

var BATTERY_STATES = ["ultra_low", "low", "ok", "good"];

function u16(bytes, at) {
  return (bytes[at] << 8) | bytes[at + 1];
}

function temperature(bytes, at) {
  var raw = u16(bytes, at);
  if (raw === 0x7fff) {
    return null;
  }
  return (raw > 0x7fff ? raw - 0x10000 : raw) / 100;
}

function decodeUplink(input) {
  var bytes = input.bytes;
  if (input.fPort !== 2) {
    return { errors: ["unknown FPort " + input.fPort] };
  }
  var ext = bytes.length >= 7 ? bytes[6] & 0x0f : -1;
  if (!(bytes.length === 11 || (bytes.length === 7 && ext === 0))) {
    return { errors: ["expected 11 bytes (7 without external sensor), got " + bytes.length] };
  }
  var battery = u16(bytes, 0);
  var data = {
    battery_voltage: (battery & 0x3fff) / 1000,
    battery_state: BATTERY_STATES[battery >> 14],
    temperature: temperature(bytes, 2),
    relative_humidity: (u16(bytes, 4) & 0x0fff) / 10,
    status_flags: bytes[6] >> 4,
  };
  var warnings = [];
  if (ext === 0) {
    data.external_sensor = "none";
  } else if (ext === 1) {
    data.external_sensor = "e1_temperature";
    data.external_temperature = temperature(bytes, 7);
  } else {
    data.external_sensor = "unknown_" + ext;
    warnings.push("external sensor type " + ext + " unknown; its data skipped");
  }
  return { data: data, warnings: warnings, errors: [] };
}
