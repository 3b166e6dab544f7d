/*
 * tp_int.h - what the built-in transports (udp.c, tcp.c) share with the
 * transport set (transport.c). Private to lib/sip.
 */
#ifndef SIMREG_SIP_TP_INT_H
#define SIMREG_SIP_TP_INT_H

#include "sip/transport.h"

/* Largest datagram (and read chunk): the UDP payload limit. */
#define TP_RXBUF 65536

/* Open a built-in transport for `l`; *out is ready for sip_tpset_add(). */
int sip_udp_open(struct sip_tpset *set, const struct sip_listen *l, struct sip_tp **out);
int sip_tcp_open(struct sip_tpset *set, const struct sip_listen *l, struct sip_tp **out);
/* sip_tpset_drop_sa_set() for one transport: 0 unless it is TCP. */
unsigned sip_tcp_drop_sa_set(struct sip_tp *tp, uint32_t sa_set, bool vanish);

/* The set's receive buffer (TP_RXBUF bytes), shared by its datagram transports. */
char *sip_tpset_rxbuf(struct sip_tpset *set);
/* The set's scratch message for parsing what arrives. */
struct sip_msg *sip_tpset_scratch(struct sip_tpset *set);

/* Fill tp->sent_by from l->advertise or the bound address. */
void sip_tp_set_sent_by(struct sip_tp *tp, const struct sip_listen *l);

/* Make fd non-blocking and close-on-exec; 0 or -errno. */
int sip_fd_nonblock(int fd);

#endif
