/* The bodies of shim.h: each forwards to one DPDK inline function. */
#include "wrapper.h"

int nvo_rte_errno(void) { return rte_errno; }
uint16_t nvo_rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **rx_pkts, uint16_t nb_pkts) { return rte_eth_rx_burst(port_id, queue_id, rx_pkts, nb_pkts); }
uint16_t nvo_rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **tx_pkts, uint16_t nb_pkts) { return rte_eth_tx_burst(port_id, queue_id, tx_pkts, nb_pkts); }
struct rte_mbuf *nvo_rte_pktmbuf_alloc(struct rte_mempool *mp) { return rte_pktmbuf_alloc(mp); }
int nvo_rte_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned int count) { return rte_pktmbuf_alloc_bulk(mp, mbufs, count); }
void nvo_rte_pktmbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }
void nvo_rte_pktmbuf_free_seg(struct rte_mbuf *m) { rte_pktmbuf_free_seg(m); }
uint16_t nvo_rte_mbuf_refcnt_update(struct rte_mbuf *m, int16_t value) { return rte_mbuf_refcnt_update(m, value); }
void nvo_rte_pktmbuf_refcnt_update(struct rte_mbuf *m, int16_t value) { rte_pktmbuf_refcnt_update(m, value); }
uint16_t nvo_rte_mbuf_refcnt_read(const struct rte_mbuf *m) { return rte_mbuf_refcnt_read(m); }
uint16_t nvo_rte_pktmbuf_data_room_size(struct rte_mempool *mp) { return rte_pktmbuf_data_room_size(mp); }
unsigned int nvo_rte_lcore_id(void) { return rte_lcore_id(); }
uint64_t nvo_rte_rdtsc(void) { return rte_rdtsc(); }
