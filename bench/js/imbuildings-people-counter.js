// IMBUILDINGS LoRaWAN People Counter, payload type 2, variants 6, 7 and 8, with the 10-byte
// header (type, variant, device id) or headerless on FPort 26/27/28.
// Written for loracity's codec benchmark (TS013 codec API). Integers are big-endian.

var DATA_SIZES = { 6: 13, 7: 5, 8: 4 };
var PORT_VARIANTS = { 26: 6, 27: 7, 28: 8 };

function u16(bytes, at) {
  return (bytes[at] << 8) | bytes[at + 1];
}

function hex(bytes, start, end) {
  var out = "";
  for (var i = start; i < end; i++) {
    out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  }
  return out;
}

function decodeUplink(input) {
  var bytes = input.bytes;
  var data;
  var at;
  var variant = bytes.length >= 2 && bytes[0] === 2 ? bytes[1] : undefined;
  if (DATA_SIZES[variant] !== undefined && bytes.length === 10 + DATA_SIZES[variant]) {
    data = { payload_variant: variant, device_id: hex(bytes, 2, 10) };
    at = 10;
  } else if (PORT_VARIANTS[input.fPort] !== undefined) {
    variant = PORT_VARIANTS[input.fPort];
    if (bytes.length !== DATA_SIZES[variant]) {
      return { errors: ["wrong length " + bytes.length + " for variant " + variant] };
    }
    data = { payload_variant: variant };
    at = 0;
  } else {
    return { errors: ["not an IMBUILDINGS people counter frame"] };
  }
  if (variant === 6) {
    data.device_status = bytes[at];
    data.battery_voltage = u16(bytes, at + 1) / 100;
    data.people_in = u16(bytes, at + 3);
    data.people_out = u16(bytes, at + 5);
    data.sensor_status = bytes[at + 7];
    data.people_in_total = u16(bytes, at + 8);
    data.people_out_total = u16(bytes, at + 10);
    data.payload_counter = bytes[at + 12];
  } else if (variant === 7) {
    data.sensor_status = bytes[at];
    data.people_in_total = u16(bytes, at + 1);
    data.people_out_total = u16(bytes, at + 3);
  } else {
    data.device_status = bytes[at];
    data.battery_voltage = u16(bytes, at + 1) / 100;
    data.sensor_status = bytes[at + 3];
  }
  return { data: data, warnings: [], errors: [] };
}
