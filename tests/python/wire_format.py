"""Protobuf wire bytes written by hand, for requests no generated client would send."""


def varint(n):
    """A base-128 varint; a negative number as protobuf writes it (two's complement, 10 bytes)."""
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def tag(number, wire_type):
    return varint(number << 3 | wire_type)


def text(number, value):
    """A length-delimited field (string, bytes or message)."""
    if isinstance(value, str):
        value = value.encode()
    return tag(number, 2) + varint(len(value)) + value


def number(number_, value):
    """A varint field."""
    return tag(number_, 0) + varint(value)
