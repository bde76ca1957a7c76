/*
 * nvo's exports of DPDK's static inline functions and per-lcore variables,
 * which a foreign caller cannot reach otherwise. One line each, no logic:
 * anything smarter belongs in Rust (crates/dpdk). These calls are not
 * inlined into Rust, so only per-burst or control-path work goes through
 * here; per-frame mbuf field access is done in Rust.
 */
#ifndef NVO_DPDK_SHIM_H
#define NVO_DPDK_SHIM_H

#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;

/** rte_errno of the calling thread (a per-lcore TLS variable in C). */
int nvo_rte_errno(void);
/** Receive up to nb_pkts frames from queue queue_id of port port_id. */
uint16_t nvo_rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **rx_pkts, uint16_t nb_pkts);
/** Send up to nb_pkts frames on queue queue_id of port port_id; returns how many the queue took. */
uint16_t nvo_rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **tx_pkts, uint16_t nb_pkts);
/** Allocate one reset mbuf from mp, or NULL when the pool is empty. */
struct rte_mbuf *nvo_rte_pktmbuf_alloc(struct rte_mempool *mp);
/** Allocate count reset mbufs from mp into mbufs: 0 when all were allocated, negative (none allocated) otherwise. */
int nvo_rte_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned int count);
/** Free a (possibly chained) mbuf, honouring reference counts. */
void nvo_rte_pktmbuf_free(struct rte_mbuf *m);
/** Free one segment of a chain, honouring its reference count (the chain is not followed). */
void nvo_rte_pktmbuf_free_seg(struct rte_mbuf *m);
/** Add value to the mbuf's reference count and return the new count. */
uint16_t nvo_rte_mbuf_refcnt_update(struct rte_mbuf *m, int16_t value);
/** Add value to the reference count of every segment of the chain m. */
void nvo_rte_pktmbuf_refcnt_update(struct rte_mbuf *m, int16_t value);
/** Read the mbuf's reference count. */
uint16_t nvo_rte_mbuf_refcnt_read(const struct rte_mbuf *m);
/** Data room size of each mbuf of pktmbuf pool mp, headroom included. */
uint16_t nvo_rte_pktmbuf_data_room_size(struct rte_mempool *mp);
/** EAL lcore id of the calling thread (LCORE_ID_ANY for an unregistered thread). */
unsigned int nvo_rte_lcore_id(void);
/** Read the time stamp counter. */
uint64_t nvo_rte_rdtsc(void);

#endif
