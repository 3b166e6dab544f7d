/*
 * keylog.h - ESP keys for Wireshark.
 *
 * Wireshark decrypts ESP with the SAs of its "esp_sa" table (Preferences >
 * Protocols > ESP > ESP SAs; the file ~/.config/wireshark/esp_sa). One line
 * per SA, eight quoted fields:
 *
 *   "IPv4","198.18.0.2","198.18.0.1","0x00012345","AES-CBC [RFC3602]","0x<CK_ESP>","HMAC-SHA-1-96 [RFC2404]","0x<IK_ESP>"
 *
 * protocol, source, destination, SPI, encryption algorithm and key,
 * authentication algorithm and key. The same line works on tshark's
 * command line: -o 'uat:esp_sa:<line>' (with esp.enable_encryption_decode).
 *
 * Key export is off unless `ipsec.keylog` names a file; it is for labs and
 * debugging, never production: anyone who reads the file reads the traffic.
 */
#ifndef SIMREG_IPSEC_KEYLOG_H
#define SIMREG_IPSEC_KEYLOG_H

#include <stddef.h>
#include <stdio.h>

#include "ipsec/sa.h"

/* Longest line: two IPv6 addresses and a 192-bit and a 160-bit key. */
#define IPSEC_KEYLOG_LINE_MAX 320

/*
 * The line of SA n (1..4) of set, without a newline, into buf.
 * Returns its length, or -ENOSPC if cap is too small, -EINVAL for n.
 */
int ipsec_keylog_format(const struct ipsec_sa_set *set, unsigned n, char *buf, size_t cap);

/* Append the four lines of set to f and flush. 0 or -EIO. */
int ipsec_keylog_write(FILE *f, const struct ipsec_sa_set *set);

/* Open (create 0600, append) a key log file. NULL with errno on failure. */
FILE *ipsec_keylog_open(const char *path);

#endif
