/*
 * hex.h, base64 - the encodings AKA and Diameter material travels in.
 */
#ifndef SIMREG_CORE_HEX_H
#define SIMREG_CORE_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

/*
 * Decode exactly `len` bytes from hex (either case, no separators, an
 * optional "0x" prefix). Returns 0, -EINVAL for a non-hex digit, or
 * -EMSGSIZE when the text is not exactly 2 * len digits.
 */
int hex_decode(struct str hex, uint8_t *out, size_t len);

/*
 * Decode up to `cap` bytes; the number of bytes is stored in *outlen.
 * Same errors as hex_decode, -EMSGSIZE if the text has an odd number of
 * digits or more than 2 * cap.
 */
int hex_decode_var(struct str hex, uint8_t *out, size_t cap, size_t *outlen);

/* Lower-case hex of `len` bytes plus a NUL; `out` holds 2 * len + 1. */
void hex_encode(const uint8_t *in, size_t len, char *out);

/* Bytes of base64 text (with padding) for `len` input bytes, without NUL. */
#define BASE64_ENCODED_LEN(len) ((((len) + 2) / 3) * 4)

/* Standard alphabet with '=' padding, NUL-terminated; returns the length. */
size_t base64_encode(const uint8_t *in, size_t len, char *out);

/*
 * Decode standard base64. Padding is optional, whitespace is not allowed.
 * Returns 0 and the length in *outlen, -EINVAL on a bad character or bad
 * padding, -EMSGSIZE when more than `cap` bytes would result.
 */
int base64_decode(struct str b64, uint8_t *out, size_t cap, size_t *outlen);

#endif
