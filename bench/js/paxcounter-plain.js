// ESP32-Paxcounter, plain payload encoder (big-endian), counts on FPort 1 only.
// Written for loracity's codec benchmark (TS013 codec API); layout from the firmware's
// documented payload format: wifi u16 [+ ble u16].

function decodeUplink(input) {
  var bytes = input.bytes;
  if (input.fPort !== 1) {
    return { errors: ["only FPort 1 (counts) is decoded, got " + input.fPort] };
  }
  if (bytes.length !== 2 && bytes.length !== 4) {
    return { errors: ["expected 2 or 4 bytes on FPort 1, got " + bytes.length] };
  }
  var data = { wifi: (bytes[0] << 8) | bytes[1] };
  if (bytes.length === 4) {
    data.ble = (bytes[2] << 8) | bytes[3];
  }
  return { data: data, warnings: [], errors: [] };
}
