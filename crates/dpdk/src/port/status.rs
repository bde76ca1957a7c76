//! What a port says about itself (capabilities, link, MAC, counters) and
//! the settings that may change while it runs (MTU, RSS, promiscuous mode).

use std::ffi::CStr;

use dpdk_sys as sys;

use super::{dev_info, Link, Port, PortInfo, RssConfig, Stats};
use crate::error::Result;

impl Port {
    /// The device's capabilities.
    pub fn info(&self) -> Result<PortInfo> {
        let i = dev_info(self.id()).map_err(|e| self.err(e, "rte_eth_dev_info_get"))?;
        let driver = if i.driver_name.is_null() {
            String::new()
        } else {
            // SAFETY: a non-null driver_name points to the driver's static,
            // NUL-terminated name.
            unsafe { CStr::from_ptr(i.driver_name) }
                .to_string_lossy()
                .into_owned()
        };
        // SAFETY: dev_flags points to the port's live flags word.
        let flags = unsafe { i.dev_flags.as_ref() }.copied().unwrap_or(0);
        Ok(PortInfo {
            driver,
            max_rx_queues: i.max_rx_queues,
            max_tx_queues: i.max_tx_queues,
            rx_offload_capa: i.rx_offload_capa,
            tx_offload_capa: i.tx_offload_capa,
            rss_hash_functions: i.flow_type_rss_offloads,
            rss_key_size: i.hash_key_size,
            min_mtu: i.min_mtu,
            max_mtu: i.max_mtu,
            rx_descriptors: (i.rx_desc_lim.nb_min, i.rx_desc_lim.nb_max),
            tx_descriptors: (i.tx_desc_lim.nb_min, i.tx_desc_lim.nb_max),
            link_events: flags & sys::RTE_ETH_DEV_INTR_LSC != 0,
        })
    }

    /// Sets the MTU.
    pub fn set_mtu(&self, mtu: u16) -> Result<()> {
        // SAFETY: valid port id.
        let ret = unsafe { sys::rte_eth_dev_set_mtu(self.id(), mtu) };
        self.shared.check(ret, "rte_eth_dev_set_mtu").map(|_| ())
    }

    /// The MTU.
    pub fn mtu(&self) -> Result<u16> {
        let mut mtu = 0u16;
        // SAFETY: valid port id; out-pointer to a local.
        let ret = unsafe { sys::rte_eth_dev_get_mtu(self.id(), &mut mtu) };
        self.shared.check(ret, "rte_eth_dev_get_mtu").map(|_| mtu)
    }

    /// Changes the RSS hash functions (and key) of a configured port.
    pub fn update_rss(&self, rss: &RssConfig) -> Result<()> {
        let mut key = rss.key.clone().unwrap_or_default();
        let mut conf = sys::rte_eth_rss_conf {
            rss_key: if key.is_empty() {
                core::ptr::null_mut()
            } else {
                key.as_mut_ptr()
            },
            rss_key_len: key.len() as u8,
            rss_hf: rss.hash_functions,
        };
        // SAFETY: valid port; conf and key live across the call.
        let ret = unsafe { sys::rte_eth_dev_rss_hash_update(self.id(), &mut conf) };
        self.shared
            .check(ret, "rte_eth_dev_rss_hash_update")
            .map(|_| ())
    }

    /// The link state, without waiting for it to settle.
    pub fn link(&self) -> Result<Link> {
        // SAFETY: rte_eth_link is plain data; zero is a valid value.
        let mut link: sys::rte_eth_link = unsafe { core::mem::zeroed() };
        // SAFETY: valid port id; out-pointer to a local.
        let ret = unsafe { sys::rte_eth_link_get_nowait(self.id(), &mut link) };
        self.shared.check(ret, "rte_eth_link_get_nowait")?;
        let up = link.link_status() != 0;
        Ok(Link {
            up,
            speed_mbps: if up && link.link_speed != u32::MAX {
                link.link_speed
            } else {
                0
            },
            full_duplex: link.link_duplex() != 0,
        })
    }

    /// The port's MAC address.
    pub fn mac(&self) -> Result<[u8; 6]> {
        let mut mac = sys::rte_ether_addr::default();
        // SAFETY: valid port id; out-pointer to a local.
        let ret = unsafe { sys::rte_eth_macaddr_get(self.id(), &mut mac) };
        self.shared
            .check(ret, "rte_eth_macaddr_get")
            .map(|_| mac.addr_bytes)
    }

    /// Turns promiscuous mode on or off.
    pub fn set_promiscuous(&self, on: bool) -> Result<()> {
        // SAFETY: valid port id.
        let ret = unsafe {
            if on {
                sys::rte_eth_promiscuous_enable(self.id())
            } else {
                sys::rte_eth_promiscuous_disable(self.id())
            }
        };
        self.shared
            .check(ret, "rte_eth_promiscuous_enable/disable")
            .map(|_| ())
    }

    /// Whether promiscuous mode is on.
    pub fn promiscuous(&self) -> bool {
        // SAFETY: valid port id.
        unsafe { sys::rte_eth_promiscuous_get(self.id()) == 1 }
    }

    /// The basic counters.
    pub fn stats(&self) -> Result<Stats> {
        // SAFETY: rte_eth_stats is plain counters; zero is valid.
        let mut s: sys::rte_eth_stats = unsafe { core::mem::zeroed() };
        // SAFETY: valid port id; out-pointer to a local.
        let ret = unsafe { sys::rte_eth_stats_get(self.id(), &mut s) };
        self.shared.check(ret, "rte_eth_stats_get")?;
        Ok(Stats {
            rx_packets: s.ipackets,
            tx_packets: s.opackets,
            rx_bytes: s.ibytes,
            tx_bytes: s.obytes,
            rx_missed: s.imissed,
            rx_errors: s.ierrors,
            tx_errors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        })
    }

    /// Zeroes the basic counters.
    pub fn reset_stats(&self) -> Result<()> {
        // SAFETY: valid port id.
        let ret = unsafe { sys::rte_eth_stats_reset(self.id()) };
        self.shared.check(ret, "rte_eth_stats_reset").map(|_| ())
    }

    /// The extended counters, names with values, in the driver's order.
    pub fn xstats(&self) -> Result<Vec<(String, u64)>> {
        // SAFETY: valid port; a null array with size 0 asks for the count.
        let n = unsafe { sys::rte_eth_xstats_get_names(self.id(), core::ptr::null_mut(), 0) };
        let n = self.shared.check(n, "rte_eth_xstats_get_names")? as usize;
        let mut names = vec![sys::rte_eth_xstat_name { name: [0; 64] }; n];
        let mut values = vec![sys::rte_eth_xstat::default(); n];
        // SAFETY: both arrays have room for n entries, as told.
        let got_names =
            unsafe { sys::rte_eth_xstats_get_names(self.id(), names.as_mut_ptr(), n as u32) };
        let got_names = self.shared.check(got_names, "rte_eth_xstats_get_names")? as usize;
        // SAFETY: as above.
        let got = unsafe { sys::rte_eth_xstats_get(self.id(), values.as_mut_ptr(), n as u32) };
        let got = self.shared.check(got, "rte_eth_xstats_get")? as usize;
        let count = got.min(got_names).min(n);
        Ok(values[..count]
            .iter()
            .map(|v| {
                let name = names.get(v.id as usize).map(|x| {
                    // SAFETY: DPDK writes NUL-terminated names into the 64-byte
                    // arrays; the last byte is zero in every case (zeroed).
                    unsafe { CStr::from_ptr(x.name.as_ptr()) }
                        .to_string_lossy()
                        .into_owned()
                });
                (name.unwrap_or_else(|| format!("xstat{}", v.id)), v.value)
            })
            .collect())
    }
}
