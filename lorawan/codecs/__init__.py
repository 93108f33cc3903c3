"""Payload codecs: native Python codecs for the showcase devices and sandboxed JavaScript ones."""

from lorawan.codecs.base import Codec, DecodeResult, EncodeResult, Measurement

__all__ = ["Codec", "DecodeResult", "EncodeResult", "Measurement"]
