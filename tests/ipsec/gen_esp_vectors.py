#!/usr/bin/env python3
"""Generate tests/data/ipsec/esp_vectors.tsv: ESP packets built independently.

This is the oracle for lib/ipsec/esp.c, written separately from it: RFC 4303
framing by hand, AES/3DES-CBC and HMAC from the Python 'cryptography'
package (hmac from the standard library). The keys are TS 35.208 test set 1
CK/IK (tests/data/aka would hold them; they are repeated here as inputs),
expanded as TS 33.203 Annex I says. The IV of each packet is fixed so the
C encoder can be asked for the same bytes through its random seam.

Run once and commit the output; the test suite never needs Python:

    python3 tests/ipsec/gen_esp_vectors.py > tests/data/ipsec/esp_vectors.tsv

tests/ipsec/esp_vectors_tshark.sh then has Wireshark decrypt every packet.
"""
import hashlib
import hmac
import ipaddress
import struct
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

try:
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # older cryptography
    TripleDES = algorithms.TripleDES

CK = bytes.fromhex("b40ba9a3c58b2a05bbf0d987b21bf8cb")  # 35.208 set 1 f3
IK = bytes.fromhex("f769bcd751044604127672711c6d3441")  # 35.208 set 1 f4


def ik_esp(alg):
    # Annex I: hmac-sha-1-96 takes IK || 32 zero bits, hmac-md5-96 IK as is.
    return IK + bytes(4) if alg == "hmac-sha-1-96" else IK


def ck_esp(ealg):
    if ealg == "aes-cbc":
        return CK
    if ealg == "des-ede3-cbc":
        return CK[:8] + CK[8:] + CK[:8]  # CK1 || CK2 || CK1
    return b""


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_datagram(src, dst, sport, dport, payload):
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    length = 8 + len(payload)
    if s.version == 4:
        pseudo = s.packed + d.packed + struct.pack("!BBH", 0, 17, length)
    else:
        pseudo = s.packed + d.packed + struct.pack("!IxxxB", length, 17)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    c = checksum(pseudo + hdr + payload)
    return struct.pack("!HHHH", sport, dport, length, c or 0xFFFF) + payload


def esp(spi, seq, alg, ealg, iv, plain, next_header=17):
    block = {"aes-cbc": 16, "des-ede3-cbc": 8, "null": 4}[ealg]
    # RFC 4303 §2.4: pad so that payload+pad+2 fills whole blocks, with the
    # default pad bytes 1, 2, 3, ...
    padlen = (-(len(plain) + 2)) % block
    body = plain + bytes(range(1, padlen + 1)) + bytes([padlen, next_header])
    key = ck_esp(ealg)
    if ealg == "aes-cbc":
        enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        body = enc.update(body) + enc.finalize()
    elif ealg == "des-ede3-cbc":
        enc = Cipher(TripleDES(key), modes.CBC(iv)).encryptor()
        body = enc.update(body) + enc.finalize()
    else:
        iv = b""
    head = struct.pack("!II", spi, seq) + iv + body
    digest = hashlib.sha1 if alg == "hmac-sha-1-96" else hashlib.md5
    icv = hmac.new(ik_esp(alg), head, digest).digest()[:12]
    return head + icv


SIP = (
    "REGISTER sip:ims.example.net SIP/2.0\r\n"
    "Via: SIP/2.0/UDP {ue}:{us};branch=z9hG4bK{tag}\r\n"
    "Call-ID: {tag}@simreg\r\n"
    "CSeq: 2 REGISTER\r\n"
    "Content-Length: 0\r\n\r\n"
)

# name, family, UE, P-CSCF, direction, spi, seq, alg, ealg, payload length
CASES = [
    ("sha1-aes-v4", "198.18.0.2", "198.18.0.1", "ue", 0x00012345, 1, "hmac-sha-1-96", "aes-cbc", None),
    ("sha1-aes-v6", "2001:db8::2", "2001:db8::1", "ue", 0xc0ffee01, 7, "hmac-sha-1-96", "aes-cbc", None),
    ("sha1-aes-v4-700", "198.18.0.2", "198.18.0.1", "pcscf", 0x0001abcd, 42, "hmac-sha-1-96", "aes-cbc", 700),
    ("sha1-aes-v4-block", "198.18.0.2", "198.18.0.1", "ue", 0x00010010, 2, "hmac-sha-1-96", "aes-cbc", 14),
    ("sha1-3des-v4", "198.18.0.2", "198.18.0.1", "ue", 0x00020001, 3, "hmac-sha-1-96", "des-ede3-cbc", None),
    ("sha1-null-v6", "2001:db8::2", "2001:db8::1", "pcscf", 0x00030001, 4, "hmac-sha-1-96", "null", None),
    ("md5-aes-v4", "198.18.0.2", "198.18.0.1", "pcscf", 0x00040001, 5, "hmac-md5-96", "aes-cbc", None),
    ("md5-3des-v6", "2001:db8::2", "2001:db8::1", "ue", 0x00050001, 6, "hmac-md5-96", "des-ede3-cbc", None),
    ("md5-null-v4", "198.18.0.2", "198.18.0.1", "ue", 0x00060001, 0xFFFFFFFF, "hmac-md5-96", "null", 0),
]

PORT_UC, PORT_PS = 31001, 5102


def main():
    out = sys.stdout
    out.write("# ESP transport-mode packets from tests/ipsec/gen_esp_vectors.py (independent of\n")
    out.write("# lib/ipsec). Keys: TS 35.208 set 1 CK/IK expanded per TS 33.203 Annex I.\n")
    out.write("name\tsrc\tdst\tspi\tseq\talg\tealg\tauth_key\tenc_key\tiv\tsport\tdport\tudp\tesp\n")
    for i, (name, ue, pc, sender, spi, seq, alg, ealg, size) in enumerate(CASES):
        src, dst = (ue, pc) if sender == "ue" else (pc, ue)
        sport, dport = (PORT_UC, PORT_PS) if sender == "ue" else (PORT_PS, PORT_UC)
        host = "[%s]" % ue if ":" in ue else ue
        text = SIP.format(ue=host, us=PORT_UC, tag="%08x" % spi).encode()
        if size is not None:
            # Exactly `size` bytes of UDP payload: SIP text cut or padded
            # with a body of 'x' (the test only needs realistic bytes).
            text = (text + b"x" * size)[:size]
        iv_len = {"aes-cbc": 16, "des-ede3-cbc": 8, "null": 0}[ealg]
        iv = bytes((0x10 * (i + 1) + k) & 0xFF for k in range(iv_len))
        udp = udp_datagram(src, dst, sport, dport, text)
        pkt = esp(spi, seq, alg, ealg, iv, udp)
        out.write("\t".join([
            name, src, dst, "%08x" % spi, str(seq), alg, ealg,
            ik_esp(alg).hex(), ck_esp(ealg).hex() or "-", iv.hex() or "-",
            str(sport), str(dport), udp.hex(), pkt.hex(),
        ]) + "\n")


if __name__ == "__main__":
    main()
