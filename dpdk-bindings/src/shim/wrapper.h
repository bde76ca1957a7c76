/*
 * The DPDK headers nvo binds. bindgen reads this file; the shim includes it.
 * Keep this list to what nvo-dpdk calls: every header added here widens the
 * generated bindings and the build time.
 */
#ifndef NVO_DPDK_WRAPPER_H
#define NVO_DPDK_WRAPPER_H

#include <rte_config.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_version.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_launch.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_mempool.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ether.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_hash.h>
#include <rte_vhost.h>
#include <rte_eth_vhost.h>

#include "shim.h"

#endif
