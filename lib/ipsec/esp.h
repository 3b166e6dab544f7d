/*
 * esp.h - RFC 4303 ESP for one SA, transport mode, no sockets.
 *
 *   0                   1                   2                   3
 *   +---------------------------------------------------------------+
 *   |               Security Parameters Index (SPI)                 |
 *   |                      Sequence Number                          |
 *   |          IV (cipher block size; none for NULL)                |
 *   |   Payload (the UDP datagram) ... | Padding 1,2,3.. |Pad Len|NH|  encrypted
 *   |          ICV (12 octets: HMAC-SHA-1-96 / HMAC-MD5-96)         |
 *   +---------------------------------------------------------------+
 *
 * Integrity covers SPI..trailer (§3.3.4). Sequence numbers are 32-bit
 * (IMS negotiates no ESN): the sender refuses to wrap (§3.3.3) and the
 * receiver keeps a 64-packet window (§3.4.3), checked before the ICV and
 * advanced only after it verified. ICVs are compared in constant time.
 *
 * An esp_sa holds its OpenSSL contexts with the key already scheduled, so a
 * packet costs one cipher re-IV and one HMAC re-init; esp_sa_init() and
 * esp_sa_clear() bracket its life.
 */
#ifndef SIMREG_IPSEC_ESP_H
#define SIMREG_IPSEC_ESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aka/esp_keys.h"

#define ESP_HDR_LEN 8
#define ESP_ICV_LEN 12
#define ESP_IV_MAX 16
#define ESP_REPLAY_WINDOW 64

/* Why an inbound packet was dropped; each has a counter. */
#define ESP_DROPS(X)                                               \
	X(MALFORMED, "malformed")   /* too short, misaligned, SPI */ \
	X(REPLAY, "replay")         /* duplicate or left of window */ \
	X(AUTH, "auth")             /* ICV mismatch */                \
	X(PADDING, "padding")       /* bad pad length or contents */  \
	X(CRYPTO, "crypto")         /* OpenSSL refused */

enum esp_result {
	ESP_OK = 0,
#define X(id, name) ESP_E_##id,
	ESP_DROPS(X)
#undef X
	ESP_RESULT_COUNT
};

/* "ok", "replay", ... */
const char *esp_result_name(enum esp_result r);

struct esp_counters {
	uint64_t packets;  /* accepted (in) or sent (out) */
	uint64_t bytes;    /* of payload */
	uint64_t drops[ESP_RESULT_COUNT]; /* indexed by enum esp_result */
};

/* Anti-replay state: bit i of `bits` set = sequence number top - i seen. */
struct esp_replay {
	uint32_t top;
	uint64_t bits;
};

/*
 * Fill buf with len random bytes (IVs, extra padding); 0 or -EIO.
 * Tests inject fixed IVs here; NULL means OpenSSL's RAND_bytes.
 */
struct esp_seam {
	int (*random)(void *ctx, uint8_t *buf, size_t len);
	void *ctx;
};

/*
 * DRBG output handed out in small pieces, for use as an esp_seam
 * ({ esp_pool_random, &pool }). RAND_bytes() costs about as much for 16
 * bytes as for 4 KiB (a fork check and locking per call, ~1.5 us here),
 * which is a third of protecting a SIP message; a pool refilled 4 KiB at a
 * time makes an IV cost nanoseconds. One pool per backend, not per SA.
 * IVs need to be unpredictable (RFC 3602 §2.2), not secret: bytes stay
 * in the pool until used and are cleared when handed out.
 */
struct esp_random_pool {
	uint8_t buf[4096];
	size_t left; /* unused bytes at the end of buf; 0 initially */
};

/* esp_seam.random over an esp_random_pool (ctx). 0 or -EIO. */
int esp_pool_random(void *ctx, uint8_t *buf, size_t len);

struct esp_sa {
	uint32_t spi;
	bool outbound;
	enum esp_auth_alg alg;
	enum esp_enc_alg ealg;
	uint8_t iv_len;
	uint8_t block;
	/*
	 * Up to this many extra cipher blocks of padding, a random number
	 * per packet, to blur payload lengths (RFC 4303 §2.4 allows 255
	 * octets of padding). 0 by default.
	 */
	uint8_t pad_blocks_max;
	uint32_t seq;              /* outbound: last number sent */
	struct esp_replay replay;  /* inbound */
	struct esp_counters ctr;
	struct esp_seam seam;
	void *cipher; /* EVP_CIPHER_CTX *, NULL for the NULL cipher */
	void *mac;    /* EVP_MAC_CTX * */
};

/*
 * Prepare an SA with the algorithms and expanded keys of `keys`: the keys
 * are scheduled now, into OpenSSL's contexts (the caller may wipe its
 * copy). seam may be NULL.
 * Returns 0, -EINVAL (unknown algorithm, key lengths not those of
 * alg/ealg), -ENOMEM, -EIO.
 */
int esp_sa_init(struct esp_sa *sa, uint32_t spi, bool outbound, const struct esp_keys *keys,
		const struct esp_seam *seam);
/* Free the contexts (OpenSSL wipes the key schedules); safe on a zeroed sa. */
void esp_sa_clear(struct esp_sa *sa);

/* The largest packet esp_encap() can produce for a payload of len bytes. */
size_t esp_encap_max(const struct esp_sa *sa, size_t len);

/*
 * Protect payload (a transport-layer datagram whose protocol is
 * next_header) with the next sequence number into out.
 * Returns 0 with *outlen set, -EOVERFLOW when the sequence number space is
 * spent (the SA must be replaced), -EMSGSIZE if cap is too small, -EIO on
 * an OpenSSL failure. Counts the packet on success.
 */
int esp_encap(struct esp_sa *sa, uint8_t next_header, const uint8_t *payload, size_t len,
	      uint8_t *out, size_t cap, size_t *outlen);

/* What esp_decap() found inside. */
struct esp_plain {
	uint32_t seq;
	uint8_t next_header;
	uint8_t *payload; /* into the packet buffer */
	size_t len;
};

/*
 * Verify and decrypt pkt (the ESP header onwards) in place. On ESP_OK,
 * *out describes the payload and the replay window has advanced; on any
 * other result the packet must be dropped, its counter has grown, and the
 * replay window is unchanged. pkt's contents are undefined after a drop.
 */
enum esp_result esp_decap(struct esp_sa *sa, uint8_t *pkt, size_t len, struct esp_plain *out);

/*
 * The window alone (exposed for tests): esp_replay_check() says whether seq
 * may be accepted, esp_replay_update() records it as received.
 */
bool esp_replay_check(const struct esp_replay *w, uint32_t seq);
void esp_replay_update(struct esp_replay *w, uint32_t seq);

#endif
