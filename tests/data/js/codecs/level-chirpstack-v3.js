// A made-up water level sensor in the legacy ChirpStack v3 style, for loracity's tests.
// Bytes 0-1: distance from the sensor to the water in mm; the mounting height comes from the
// device variable "mount_height_mm".
function Decode(fPort, bytes, variables) {
  var distance = (bytes[0] << 8) | bytes[1];
  var mount = Number(variables.mount_height_mm || 0);
  return { distance_mm: distance, level_mm: mount - distance, fport: fPort };
}
