// A made-up parking sensor in the legacy The Things Network v2 style, for loracity's tests.
// Byte 0: 1 when a car is present; bytes 1-2: battery in mV (big-endian).
function Decoder(bytes, port) {
  return { occupied: bytes[0] === 1, batv: ((bytes[1] << 8) | bytes[2]) / 1000, port: port };
}
