"""The native device types loracity ships, written out: the expected list for tests, so a codec
that goes missing fails them instead of shrinking what they check."""

NATIVE_DEVICE_TYPES = (
    "bosch-parking",
    "cayenne-lpp",
    "dragino-ldds75",
    "dragino-lgt92",
    "dragino-lht65",
    "dragino-lht65n",
    "elsys-ers",
    "imbuildings-people-counter",
    "milesight-am307",
    "milesight-am308",
    "milesight-am319",
    "milesight-em500",
    "milesight-em500-co2",
    "milesight-em500-lgt",
    "milesight-em500-pp",
    "milesight-em500-pt100",
    "milesight-em500-smt",
    "milesight-em500-swl",
    "milesight-em500-udl",
    "milesight-vs121",
    "milesight-vs133",
    "nwave-parking",
    "paxcounter-packed",
    "paxcounter-plain",
)
